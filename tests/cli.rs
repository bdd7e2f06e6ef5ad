//! The `qunbot` binary as an operator meets it: exit codes and the words it prints.

use std::path::Path;
use std::process::{Command, Output};

fn qunbot(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_qunbot"));
    command
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("QUNBOT_TOKEN")
        .env_remove("QUNBOT_API_URL")
        .env_remove("QUNBOT_DATABASE_URL");
    for (key, value) in envs {
        command.env(key, value);
    }
    command.output().expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn check_config_accepts_the_example_and_summarises_it() {
    let out = qunbot(&["check-config", "config.example.toml"], &[]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("config.example.toml is valid."), "{stdout}");
    assert!(stdout.contains("zh-CN · Asia/Shanghai"), "{stdout}");
    assert!(
        stdout.contains("group -1000000000000 en · Europe/Berlin"),
        "{stdout}"
    );
    // Its group table is under an id no chat has: valid, and said to be unused.
    assert!(
        stdout.contains("warning: [groups.\"-1000000000000\"] is the example's placeholder"),
        "{stdout}"
    );
}

/// What `check-config` says of a file `name` holding `config`, which it must refuse.
fn check_config_refusing(name: &str, config: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, config).unwrap();
    let out = qunbot(&["check-config", path.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(1));
    text(&out.stderr)
}

#[test]
fn check_config_lists_every_problem_with_its_location() {
    let stderr = check_config_refusing(
        "bad.toml",
        "[defaults]\nlanguage = \"de\"\ntimezone = \"Nowhere/Land\"\n",
    );
    assert!(
        stderr.contains("bad.toml:2:12: unknown language `de`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("bad.toml:3:12: unknown time zone `Nowhere/Land`"),
        "{stderr}"
    );
    assert!(stderr.contains("2 problem(s)"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn check_config_on_a_missing_file_says_so() {
    let out = qunbot(&["check-config", "no/such/file.toml"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("cannot read the file"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn chat_plays_a_script_and_prints_the_transcript() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("s.chat");
    std::fs::write(
        &script,
        "bob: 群规\nbob: /frobnicate@qunbot\nnonsense line here\n",
    )
    .unwrap();
    let out = qunbot(&["chat", "--script", script.to_str().unwrap()], &[]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("bob: 群规\n> bot → bob: 本群还没有设置群规。\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("> bot → bob: 我不认识 /frobnicate 这个命令。"),
        "{stdout}"
    );
    assert!(
        stdout.contains("> (error: cannot read `nonsense line here`"),
        "{stdout}"
    );
}

#[test]
fn chat_reads_a_script_from_standard_input_and_keeps_state_in_a_named_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("chat.db").display());
    for _ in 0..2 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_qunbot"))
            .args(["chat", "--db", &db])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all("alice: hello\n".as_bytes())
            .unwrap();
        assert!(child.wait_with_output().unwrap().status.success());
    }
    assert!(Path::new(&dir.path().join("chat.db")).exists());
}

#[test]
fn commands_prints_the_manifest_table() {
    let out = qunbot(&["commands"], &[]);
    let stdout = text(&out.stdout);
    assert!(out.status.success());
    assert!(stdout.contains("/help"), "{stdout}");
    assert!(stdout.contains("帮助 菜单"), "{stdout}");
    assert!(
        stdout.contains("/rules") && stdout.contains("group"),
        "{stdout}"
    );
}

#[test]
fn run_without_a_token_explains_what_is_missing() {
    let out = qunbot(&["run"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("no bot token: set QUNBOT_TOKEN"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn run_against_an_unreachable_api_fails_cleanly_without_showing_the_token() {
    let token = "123456789:AAbbCCddEEffGGhhIIjjKKllMMnnOOppQQr";
    // Port 9 on loopback: nothing listens there, the connection is refused at once.
    let out = qunbot(
        &["run"],
        &[
            ("QUNBOT_TOKEN", token),
            ("QUNBOT_API_URL", "http://127.0.0.1:9"),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("cannot reach the Bot API at http://127.0.0.1:9"),
        "{stderr}"
    );
    assert!(
        !stderr.contains(token) && !stderr.contains("AAbbCC"),
        "the token leaked: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn every_subcommand_has_help() {
    for sub in ["run", "check-config", "migrate", "commands", "chat"] {
        let out = qunbot(&[sub, "--help"], &[]);
        assert!(out.status.success(), "{sub}");
        assert!(text(&out.stdout).contains("Usage: qunbot"), "{sub}");
    }
}

#[test]
fn chat_without_input_plays_the_demo() {
    let out = Command::new(env!("CARGO_BIN_EXE_qunbot"))
        .arg("chat")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("bob: /help\n> bot → bob: 可用命令："),
        "{stdout}"
    );
}

#[test]
fn migrate_reports_what_it_did_and_a_bad_database_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    let out = qunbot(&["migrate"], &[("QUNBOT_DATABASE_URL", &url)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Core's and every feature's.
    let migrations = qunbot::features::schema()
        .migrator(qunbot::store::Backend::Sqlite)
        .iter()
        .count();
    let expected = format!("SQLite: {migrations} migration(s) applied");
    assert!(
        text(&out.stdout).contains(&expected),
        "{}",
        text(&out.stdout)
    );
    let again = qunbot(&["migrate"], &[("QUNBOT_DATABASE_URL", &url)]);
    assert!(
        text(&again.stdout).contains("SQLite: 0 migration(s) applied"),
        "{}",
        text(&again.stdout)
    );

    let out = qunbot(
        &["migrate"],
        &[("QUNBOT_DATABASE_URL", "sqlite:///no/such/folder/x.db")],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("cannot open the database sqlite:///no/such/folder/x.db"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    let out = qunbot(
        &["migrate"],
        &[("QUNBOT_DATABASE_URL", "mysql://root:secret@localhost/db")],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("unsupported database URL"), "{stderr}");
    assert!(!stderr.contains("secret"), "the password leaked: {stderr}");
}

#[test]
fn check_config_refuses_a_welcome_template_with_a_syntax_error_naming_its_line() {
    let stderr = check_config_refusing(
        "welcome.toml",
        "[defaults.welcome]\ntexts = [\"\"\"\n欢迎 {{ mention }}！\n{% if rules %}请看群规\n\"\"\"]\n",
    );
    assert!(
        stderr
            .contains("welcome.toml:2:10: welcome.texts[1], line 2 of the template: syntax error"),
        "{stderr}"
    );
}

#[test]
fn check_config_refuses_a_reaction_telegram_does_not_take() {
    let stderr = check_config_refusing(
        "games.toml",
        "[defaults.games]\nwrong_answers = \"react\"\nwrong_answer_reaction = \"❌\"\n",
    );
    assert!(
        stderr.contains(
            "games.toml:3:25: games.wrong_answer_reaction `❌` is not a reaction Telegram takes; use one of ❤ 👍 👎"
        ),
        "{stderr}"
    );
}

#[test]
fn check_config_catches_a_missing_token_file_and_commands_dir() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("qunbot.toml");
    std::fs::write(
        &path,
        "commands_dir = \"no-such-folder\"\n[telegram]\ntoken_file = \"/no/such/token\"\n",
    )
    .unwrap();
    let out = qunbot(&["check-config", path.to_str().unwrap()], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("telegram.token_file names /no/such/token"),
        "{stderr}"
    );
    assert!(stderr.contains("commands_dir names"), "{stderr}");
    assert!(stderr.contains("2 problem(s)"), "{stderr}");
}
