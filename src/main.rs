//! The `qunbot` command line. Everything it runs lives in the library; this file only reads
//! arguments, sets up logging and reports errors.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::{TimeZone, Utc};
use clap::{Parser, Subcommand};
use qunbot::app::{Prepared, prepare};
use qunbot::config::Settings;
use qunbot::core::i18n::Language;
use qunbot::sim::{Simulator, transcript};
use qunbot::store::{Db, redact_url};

/// The config file looked for when none is named.
const DEFAULT_CONFIG: &str = "qunbot.toml";
const DEMO_SCRIPT: &str = include_str!("../examples/demo.chat");

#[derive(Parser)]
#[command(
    name = "qunbot",
    version,
    about = "A community bot for group chats: rules, welcome, sign-in, word games, relay sign-ups and schedules."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log lines as text for people, or as JSON objects for a log collector (each line of a
    /// handled update carries its chat_id and update_id).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "QUNBOT_LOG_FORMAT")]
    log_format: LogFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Connect to Telegram by long polling and serve every group the bot is in.
    ///
    /// The token comes from QUNBOT_TOKEN (or telegram.token_file). QUNBOT_API_URL points the bot
    /// at another Bot API server. Only one process may poll a token.
    Run {
        /// Config file [default: qunbot.toml if present, else built-in defaults]
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Check a config file and print a summary, or every problem with file:line:column.
    CheckConfig {
        /// Config file [default: qunbot.toml]
        file: Option<PathBuf>,
    },
    /// Make the running bot re-read its config file and command manifests, without a restart.
    ///
    /// Checks the file first (as check-config does) and, if it is valid, sends SIGHUP to the
    /// process named in the pid file (`pid_file`, default qunbot.pid beside the config). The
    /// running bot checks again and says in its log whether it took the new config; on any
    /// problem it keeps the old one. `kill -HUP <pid>` does the same.
    Reload {
        /// Config file [default: qunbot.toml]
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Apply pending database migrations (run applies them at start too).
    Migrate {
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Print the command table from the features' manifests and those in bot-commands/.
    Commands {
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Also register them with Telegram (setMyCommands), per scope and language.
        #[arg(long)]
        sync: bool,
    },
    /// A local group chat with the bot: no token, no network.
    ///
    /// Type lines such as `alice: 签到`, `carol joins`, `:advance 1d` or `:help`. Without
    /// --script, a short demo plays first; input that is not a terminal is read as a script.
    Chat {
        /// Read the lines from this file and print the transcript.
        #[arg(long)]
        script: Option<PathBuf>,
        /// Keep the simulation in this database instead of a temporary one (sqlite://… or postgres://…).
        #[arg(long)]
        db: Option<String>,
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Skip the demo that plays before an interactive session.
        #[arg(long)]
        no_demo: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let quiet = matches!(
        cli.command,
        Command::Chat { .. }
            | Command::CheckConfig { .. }
            | Command::Commands { .. }
            | Command::Reload { .. }
    );
    init_logging(if quiet { "warn" } else { "info" }, cli.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run_command(cli.command)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(default_level: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("QUNBOT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let logger = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    match format {
        LogFormat::Text => logger.init(),
        // Each line carries the span it was logged in: `"span": {"chat_id", "update_id"}`
        // while an update is being handled.
        LogFormat::Json => logger
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}

async fn run_command(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run { config } => {
            let prepared = load(config.as_deref())?;
            qunbot::telegram::run(prepared).await?;
        }
        Command::CheckConfig { file } => return Ok(check_config(file.as_deref())),
        Command::Reload { config } => reload(config.as_deref())?,
        Command::Migrate { config } => {
            let prepared = load(config.as_deref())?;
            let url = prepared.settings.database_url();
            let db = Db::connect_without_migrating(&url)
                .await
                .with_context(|| format!("cannot open the database {}", redact_url(&url)))?;
            let applied = db
                .migrate(&prepared.schema)
                .await
                .context("migrating the database")?;
            println!(
                "{}: {applied} migration(s) applied; the schema is up to date.",
                db.backend_name()
            );
            db.close().await;
        }
        Command::Commands { config, sync } => {
            let prepared = load(config.as_deref())?;
            print_command_table(&prepared);
            if sync {
                qunbot::telegram::sync_commands(&prepared).await?;
                println!(
                    "\nRegistered with Telegram: member commands for all groups, admin commands for group admins, private-chat commands, in zh and en."
                );
            }
        }
        Command::Chat {
            script,
            db,
            config,
            no_demo,
        } => chat(script, db, config, no_demo).await?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Loads the config (the named file, else qunbot.toml if present, else the built-in defaults)
/// and the command manifests.
fn load(config: Option<&Path>) -> anyhow::Result<Prepared> {
    let settings = match config {
        Some(path) => Settings::load(path, &qunbot::features::all())
            .map_err(|errors| anyhow::anyhow!("{errors}"))?,
        None if Path::new(DEFAULT_CONFIG).exists() => {
            Settings::load(Path::new(DEFAULT_CONFIG), &qunbot::features::all())
                .map_err(|errors| anyhow::anyhow!("{errors}"))?
        }
        None => Settings::built_in(&qunbot::features::all()),
    };
    prepare(settings).map_err(|errors| anyhow::anyhow!("{}", errors.join("\n")))
}

/// `qunbot reload`: checks the config, then asks the running bot to reload it.
fn reload(config: Option<&Path>) -> anyhow::Result<()> {
    let path = config.unwrap_or(Path::new(DEFAULT_CONFIG));
    let prepared = load(Some(path)).with_context(|| {
        format!(
            "{} has problems; the running bot was not asked to reload it",
            path.display()
        )
    })?;
    let pid_file = prepared.settings.pid_file();
    let text = std::fs::read_to_string(&pid_file).with_context(|| {
        format!(
            "cannot read the pid file {} (is `qunbot run` running with this config?)",
            pid_file.display()
        )
    })?;
    let pid: i32 = text
        .trim()
        .parse()
        .with_context(|| format!("the pid file {} holds no process id", pid_file.display()))?;
    send_hangup(pid)?;
    println!(
        "Asked qunbot (pid {pid}) to reload {}; its log says whether it took it.",
        path.display()
    );
    Ok(())
}

#[cfg(unix)]
fn send_hangup(pid: i32) -> anyhow::Result<()> {
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    if unsafe { libc::kill(pid, libc::SIGHUP) } != 0 {
        bail!(
            "cannot signal process {pid}: {} (a stale pid file? `qunbot run` removes it when it stops)",
            std::io::Error::last_os_error()
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn send_hangup(_pid: i32) -> anyhow::Result<()> {
    bail!("`qunbot reload` needs a Unix system (it sends SIGHUP); restart the bot instead")
}

fn check_config(file: Option<&Path>) -> ExitCode {
    let path = file.unwrap_or(Path::new(DEFAULT_CONFIG));
    let settings = match Settings::load(path, &qunbot::features::all()) {
        Ok(settings) => settings,
        Err(errors) => {
            eprintln!("{errors}");
            eprintln!("{} problem(s) in {}", errors.0.len(), path.display());
            return ExitCode::FAILURE;
        }
    };
    let summary = settings.summary();
    // What `run` would stop at, said now: files the config names that are not there.
    let mut missing = Vec::new();
    if let Some(file) = &settings.file.telegram.token_file
        && !file.is_file()
    {
        missing.push(format!(
            "{}: telegram.token_file names {}, which does not exist (or is not a file)",
            path.display(),
            file.display()
        ));
    }
    if settings.file.commands_dir.is_some() && !settings.commands_dir().is_dir() {
        missing.push(format!(
            "{}: commands_dir names {}, which is not a folder",
            path.display(),
            settings.commands_dir().display()
        ));
    }
    if !missing.is_empty() {
        for problem in &missing {
            eprintln!("{problem}");
        }
        eprintln!("{} problem(s) in {}", missing.len(), path.display());
        return ExitCode::FAILURE;
    }
    match prepare(settings) {
        Ok(prepared) => {
            println!("{} is valid.", path.display());
            for warning in prepared.settings.warnings() {
                println!("warning: {warning}");
            }
            println!("\n{summary}");
            println!("commands        {}", prepared.commands.iter().count());
            ExitCode::SUCCESS
        }
        Err(errors) => {
            for error in &errors {
                eprintln!("{error}");
            }
            eprintln!("{} problem(s) with the command manifests", errors.len());
            ExitCode::FAILURE
        }
    }
}

fn print_command_table(prepared: &Prepared) {
    println!(
        "{:<12} {:<7} {:<8} {:<18} description",
        "command", "who", "where", "also typed as"
    );
    for manifest in prepared.commands.iter() {
        let triggers: Vec<String> = manifest.aliases.clone();
        println!(
            "/{:<11} {:<7} {:<8} {:<18} {}{}",
            manifest.name,
            format!("{:?}", manifest.permission).to_lowercase(),
            format!("{:?}", manifest.scope).to_lowercase(),
            triggers.join(" "),
            manifest.description.get(Language::ZhCn),
            if manifest.description.get(Language::ZhCn) != manifest.description.get(Language::En) {
                format!(" / {}", manifest.description.get(Language::En))
            } else {
                String::new()
            }
        );
    }
}

async fn chat(
    script: Option<PathBuf>,
    db_url: Option<String>,
    config: Option<PathBuf>,
    no_demo: bool,
) -> anyhow::Result<()> {
    let prepared = load(config.as_deref())?;
    // A temporary database unless one is named; it goes away with `_temp_dir`.
    let _temp_dir;
    let url = match db_url {
        Some(url) => url,
        None => {
            let dir =
                tempfile::tempdir().context("creating a temporary folder for the database")?;
            let url = format!("sqlite://{}", dir.path().join("chat.db").display());
            _temp_dir = dir;
            url
        }
    };
    let db = Db::connect(&url, &prepared.schema)
        .await
        .with_context(|| format!("cannot open the database {}", redact_url(&url)))?;
    let interactive = script.is_none() && std::io::stdin().is_terminal();
    // Scripts start at a fixed time so transcripts come out the same every run.
    let zone = prepared.settings.defaults.timezone;
    let start = if interactive {
        Utc::now()
    } else {
        zone.with_ymd_and_hms(2026, 1, 5, 9, 0, 0)
            .single()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(Utc::now)
    };
    let mut sim = Simulator::new(&prepared, db.clone(), start);
    let mut stdout = std::io::stdout();
    if let Some(path) = script {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        write!(stdout, "{}", transcript(&mut sim, &text).await?)?;
    } else if !interactive {
        let mut text = String::new();
        for line in std::io::stdin().lock().lines() {
            text.push_str(&line?);
            text.push('\n');
        }
        // Nothing piped in (`qunbot chat < /dev/null`, or a runner without a terminal): show
        // the demo rather than nothing.
        if text.trim().is_empty() {
            text = DEMO_SCRIPT.to_owned();
        }
        write!(stdout, "{}", transcript(&mut sim, &text).await?)?;
    } else {
        if !no_demo {
            println!("A short demo first (qunbot chat --no-demo skips it):\n");
            write!(stdout, "{}", transcript(&mut sim, DEMO_SCRIPT).await?)?;
            println!();
        }
        println!(
            "Your turn. Type `alice: 签到`, `carol joins`, `:advance 1d`, `:help`; Ctrl-D ends."
        );
        interactive_loop(&mut sim, zone).await?;
    }
    db.close().await;
    Ok(())
}

/// Reads lines from the terminal; the prompt shows the simulated time in the group's zone.
async fn interactive_loop(sim: &mut Simulator, zone: chrono_tz::Tz) -> anyhow::Result<()> {
    let stdin = std::io::stdin();
    loop {
        print!(
            "{} › ",
            sim.now().with_timezone(&zone).format("%m-%d %H:%M")
        );
        std::io::stdout().flush()?;
        let mut line = String::new();
        if stdin.lock().read_line(&mut line)? == 0 {
            println!();
            return Ok(());
        }
        match sim.step(&line).await {
            Ok(lines) => {
                for entry in lines {
                    for (index, text) in entry.lines().enumerate() {
                        println!("{}{text}", if index == 0 { "  " } else { "    " });
                    }
                }
            }
            Err(qunbot::sim::SimError::Input(message)) => println!("  ({message})"),
            Err(error) => bail!(error),
        }
    }
}
