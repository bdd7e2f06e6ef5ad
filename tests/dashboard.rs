//! The read-only dashboard, served by `qunbot run` against the fake Bot API: the token is
//! needed (and checked) before any page, the pages show the group, its chart, its figures,
//! jobs, audit log and config (never a token), and a real browser (Debian's chromium,
//! headless) sees the group's name, the chart and a table row. The browser's screenshot is
//! kept in target/test-artifacts/dashboard.png.
//!
//! Without chromium the browser half is skipped with a note (`apt-get install chromium`);
//! `QUNBOT_REQUIRE_BROWSER=1` (set by .ci/run once it installed chromium) makes that a failure.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::json;
use support::fake_bot_api::FakeBotApi;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOKEN: &str = "dashboard-token-for-tests-0123";
const GROUP: i64 = -1_001_666_000_001;
const TITLE: &str = "读书会 <b>&amp;</b>";

struct Answer {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 request with optional extra header lines and body.
async fn request(port: u16, method: &str, path: &str, headers: &str, body: &str) -> Answer {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete response");
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    Answer {
        status,
        head,
        body: response[split + 4..].to_vec(),
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn group_text(from: (i64, &str), text: &str) -> serde_json::Value {
    let mut update = FakeBotApi::group_text(GROUP, from, text, Utc::now().timestamp());
    update["message"]["chat"]["title"] = json!(TITLE);
    update
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_needs_the_token_and_shows_a_group_to_a_browser() {
    let fake = FakeBotApi::start().await;
    let port = free_port();
    let extra = format!(
        "\n[http]\nlisten = \"127.0.0.1:{port}\"\ndashboard_token = \"{TOKEN}\"\n\n\
         [[defaults.jobs]]\nname = \"早安\"\nschedule = \"每天 08:00\"\ntexts = [\"早安\"]\n"
    );
    fake.set_admins(GROUP, &[7]);
    let bot = support::run::start(fake.clone(), &extra).await;
    fake.push_update(group_text((7, "Ann"), "签到"));
    fake.push_update(group_text((8, "Bo"), "大家好"));
    // An admin's warning goes to the audit log.
    fake.push_update(group_text((7, "Ann"), "/warn 8 刷屏"));
    fake.wait_for_call("sendMessage", 2, Duration::from_secs(20))
        .await;
    // Wait until the warning is handled (its notice is sent).
    let deadline = Instant::now() + Duration::from_secs(20);
    while !fake.calls_to("sendMessage").iter().any(|c| {
        c.params["text"]
            .as_str()
            .is_some_and(|t| t.contains("警告"))
    }) {
        assert!(
            Instant::now() < deadline,
            "no warning: {:?}",
            fake.calls_to("sendMessage")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // No token, no page; a wrong token is refused the same way.
    let anonymous = request(port, "GET", "/dashboard", "", "").await;
    assert_eq!(anonymous.status, 401);
    assert!(anonymous.text().contains("<form class=\"login\""));
    let group_path = format!("/dashboard/groups/{GROUP}");
    assert_eq!(request(port, "GET", &group_path, "", "").await.status, 401);
    let chart_path = format!("/dashboard/groups/{GROUP}/chart.png?days=7");
    assert_eq!(request(port, "GET", &chart_path, "", "").await.status, 401);
    let wrong = request(
        port,
        "GET",
        "/dashboard",
        "Authorization: Bearer dashboard-token-for-tests-0124\r\n",
        "",
    )
    .await;
    assert_eq!(wrong.status, 401);
    let form = "Content-Type: application/x-www-form-urlencoded\r\n";
    let refused = request(port, "POST", "/dashboard/login", form, "token=nope").await;
    assert_eq!(refused.status, 401);
    assert!(refused.text().contains("not right"));

    // The form's answer keeps the token in an HttpOnly cookie.
    let signed_in = request(
        port,
        "POST",
        "/dashboard/login",
        form,
        &format!("token={TOKEN}"),
    )
    .await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.head);
    assert!(
        signed_in.head.contains("HttpOnly") && signed_in.head.contains("SameSite=Strict"),
        "{}",
        signed_in.head
    );
    let cookie = format!("Cookie: qunbot_dashboard={TOKEN}\r\n");

    let groups = request(port, "GET", "/dashboard", &cookie, "").await;
    assert_eq!(groups.status, 200);
    let html = groups.text();
    // The title is escaped, not interpreted.
    assert!(
        html.contains("读书会 &lt;b&gt;&amp;amp;&lt;&#x2f;b&gt;"),
        "{html}"
    );
    assert!(
        html.contains(&format!("href=\"/dashboard/groups/{GROUP}\"")),
        "{html}"
    );

    let page = request(port, "GET", &format!("{group_path}?days=7"), &cookie, "").await;
    assert_eq!(page.status, 200);
    let html = page.text();
    for expected in [
        "<img class=\"chart\"",
        "chart.png?days=7",
        // Today's row: 3 messages from 2 speakers, 1 sign-in.
        "<td class=\"n\">2</td><td class=\"n\">3</td><td class=\"n\">1</td>",
        "早安",
        "warn",
        "Ann (7)",
        "Bo (8)",
        "GroupSettings",
        "Asia&#x2f;Shanghai",
    ] {
        assert!(html.contains(expected), "{expected} missing from\n{html}");
    }
    assert!(
        !html.contains(TOKEN) && !html.contains(fake.token()),
        "a token leaked"
    );

    let chart = request(port, "GET", &chart_path, &cookie, "").await;
    assert_eq!(chart.status, 200);
    assert!(chart.head.contains("image/png"));
    assert!(chart.body.starts_with(b"\x89PNG\r\n\x1a\n"));
    let css = request(port, "GET", "/dashboard/style.css", "", "").await;
    assert!(css.head.contains("text/css"));

    browser_check(port, &group_path);

    bot.stop().await.unwrap();
}

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            let found = Command::new("which").arg(name).output().ok()?;
            found
                .status
                .success()
                .then(|| PathBuf::from(String::from_utf8_lossy(&found.stdout).trim()))
        })
}

/// Loads the group's page in headless chromium (signing in with a link), reads the DOM a
/// person would see and keeps a screenshot.
fn browser_check(port: u16, group_path: &str) {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("QUNBOT_REQUIRE_BROWSER").is_none(),
            "QUNBOT_REQUIRE_BROWSER is set but chromium is not installed"
        );
        eprintln!(
            "NOTE: browser check SKIPPED: chromium is not installed (apt-get install chromium)"
        );
        return;
    };
    let url = format!(
        "http://127.0.0.1:{port}/dashboard/login?token={TOKEN}&next={group_path}%3Fdays%3D7"
    );
    let artifacts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let screenshot = artifacts.join("dashboard.png");
    let _ = std::fs::remove_file(&screenshot);
    let run = |extra: &[String]| {
        let profile = tempfile::tempdir().unwrap();
        let output = Command::new(&browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--no-first-run",
                "--window-size=1100,1600",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(extra)
            .arg(&url)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "chromium failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let dom = run(&["--dump-dom".to_owned()]);
    assert!(
        dom.contains("<h1>读书会 &lt;b&gt;&amp;amp;&lt;/b&gt;</h1>"),
        "{dom}"
    );
    assert!(dom.contains("<img class=\"chart\""), "{dom}");
    assert!(
        dom.contains("<td class=\"n\">2</td><td class=\"n\">3</td>"),
        "{dom}"
    );
    run(&[
        format!("--screenshot={}", screenshot.display()),
        "--virtual-time-budget=5000".to_owned(),
    ]);
    // The chart really showed: the screenshot holds its blue "members" line.
    let file = std::fs::File::open(&screenshot).expect("chromium wrote the screenshot");
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut pixels).unwrap();
    let channels = frame.color_type.samples();
    let blue = pixels[..frame.buffer_size()]
        .chunks(channels)
        .filter(|p| p[0] < 60 && (100..=150).contains(&p[1]) && p[2] > 160)
        .count();
    assert!(
        blue > 300,
        "no chart in the screenshot ({blue} blue pixels)"
    );
    eprintln!("dashboard screenshot: {}", screenshot.display());
}
