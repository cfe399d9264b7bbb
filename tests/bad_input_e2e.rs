//! Bad input gets a clear error and changes nothing: refused domains and broken configs
//! send nothing to any panel.

mod support;

use panel_emulators::Emulator;
use panel_emulators::serverpilot::ServerPilot;
use support::Case;

fn setup(name: &str, extra: &str) -> (Case, Emulator<ServerPilot>) {
    let case = Case::new(name);
    let emu = Emulator::spawn(ServerPilot::new("cid_b", "bad-input-key-1", "app1"), 0).unwrap();
    case.write_config(&format!(
        "[integrations.serverpilot]\nenabled = true\n\
         constants = {{ WU_SERVER_PILOT_CLIENT_ID = \"cid_b\", WU_SERVER_PILOT_API_KEY = \"bad-input-key-1\", WU_SERVER_PILOT_APP_ID = \"app1\" }}\n\
         routes = {{ \"api.serverpilot.io\" = \"{}\" }}\n{extra}",
        emu.base_url()
    ));
    (case, emu)
}

#[test]
fn refused_domains_send_nothing_to_any_panel() {
    let (case, emu) = setup("refused", "");
    let long_label = format!("{}.com", "a".repeat(64));
    let long_name = format!("{}.com", vec!["b".repeat(60); 5].join("."));
    let cases: Vec<(&str, &str)> = vec![
        ("", "empty"),
        ("exa mple.com", "whitespace"),
        (&long_label, "63"),
        (&long_name, "253"),
        ("-lead.com", "hyphen"),
        ("trail-.com", "hyphen"),
        ("a..com", "empty label"),
        ("https://example.com", "URL"),
        ("example.com/wp-admin", "URL"),
        ("203.0.113.9", "IP"),
        ("2001:db8::1", "IP"),
        ("a$(reboot).com", "not allowed"),
        ("a;b.com", "not allowed"),
        ("a.*.example.com", "wildcard"),
        ("*.example.com", "does not support wildcard"),
    ];
    for (input, why) in cases {
        let run = case.run(&["add-domain", "--site", "1", "--", input]);
        assert_eq!(run.status, 2, "{input:?}: {}", run.all_output());
        assert!(
            run.stderr.contains("invalid domain") && run.stderr.contains(why),
            "{input:?}: {}",
            run.stderr
        );
    }
    assert!(emu.requests().is_empty());
}

#[test]
fn an_unknown_integration_id_is_named_and_nothing_runs() {
    let (case, emu) = setup("unknown-id", "[integrations.nosuchpanel]\nenabled = true\n");
    let run = case.run(&["add-domain", "example.com", "--site", "1"]);
    assert_eq!(run.status, 2);
    assert!(
        run.stderr
            .contains("integrations.nosuchpanel: unknown integration"),
        "{}",
        run.stderr
    );
    assert!(
        emu.requests().is_empty(),
        "the other integration did not run either"
    );
}

#[test]
fn a_missing_component_file_is_named() {
    let (case, emu) = setup("missing-file", "");
    let text = std::fs::read_to_string(case.config_path())
        .unwrap()
        .replace(
            "[integrations.serverpilot]\n",
            "[integrations.serverpilot]\ncomponent = \"gone/serverpilot.wasm\"\n",
        );
    std::fs::write(case.config_path(), text).unwrap();
    let run = case.run(&["add-domain", "example.com", "--site", "1"]);
    assert_eq!(run.status, 2);
    assert!(
        run.stderr
            .contains("integrations.serverpilot.component: no such file"),
        "{}",
        run.stderr
    );
    assert!(emu.requests().is_empty());
}

#[test]
fn a_wrong_type_points_at_the_key_and_line() {
    let (case, emu) = setup("wrong-type", "[limits]\nmemory_mb = \"lots\"\n");
    let run = case.run(&["add-domain", "example.com", "--site", "1"]);
    assert_eq!(run.status, 2);
    assert!(
        run.stderr.contains("memory_mb") && run.stderr.contains("line "),
        "{}",
        run.stderr
    );
    assert!(emu.requests().is_empty());
}

#[test]
fn json_mode_reports_command_errors_as_json() {
    let (case, _emu) = setup("json-error", "");
    let run = case.run(&["--json", "add-domain", "--site", "1", "--", "bad domain"]);
    assert_eq!(run.status, 2);
    let json = run.json();
    assert_eq!(json["ok"], false);
    assert!(
        json["error"].as_str().unwrap().contains("invalid domain"),
        "{json}"
    );
}

#[test]
fn a_config_error_never_echoes_a_secret() {
    let case = Case::new("secret-in-error");
    for text in [
        // Syntax error on the line that holds the secret.
        "[integrations.serverpilot]\nconstants = { WU_SERVER_PILOT_API_KEY = \"very-secret-key-9\" \n",
        // A value of the wrong type: the parser would quote it.
        "[integrations.serverpilot]\nconstants = { WU_SERVER_PILOT_API_KEY = 987654321987 }\n",
    ] {
        std::fs::write(case.config_path(), text).unwrap();
        for args in [
            &["add-domain", "example.com", "--site", "1"][..],
            &["--json", "list"][..],
        ] {
            let run = case.run(args);
            assert_eq!(run.status, 2, "{}", run.all_output());
            let all = run.all_output();
            assert!(all.contains("line 2"), "{all}");
            assert!(
                !all.contains("very-secret-key-9") && !all.contains("987654321987"),
                "{all}"
            );
        }
    }
}

/// Starts `serve` with `token` in `DH_F12_TOKEN`; returns its first stdout line (or what it
/// said on stderr when it stopped) and the child, if it runs.
fn serve_with_token(case: &Case, token: &str) -> (String, String, Option<std::process::Child>) {
    use std::io::BufRead;
    let stderr = case.dir.join("serve.log");
    let mut child = support::host_command()
        .arg("--config")
        .arg(case.config_path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("DH_F12_TOKEN", token)
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    if line.is_empty() {
        child.wait().unwrap();
        return (line, std::fs::read_to_string(&stderr).unwrap(), None);
    }
    (line, String::new(), Some(child))
}

#[test]
fn a_short_service_token_is_refused_and_a_padded_one_is_trimmed() {
    let (case, _emu) = setup("svc-token", "[service]\ntoken_env = \"DH_F12_TOKEN\"\n");
    // Too short: the service does not start, and says why without the value.
    let (line, said, child) = serve_with_token(&case, "x-short-token");
    assert!(child.is_none() && line.is_empty(), "{line}");
    assert!(
        said.contains("environment variable DH_F12_TOKEN holds 13 characters")
            && said.contains("at least 32")
            && !said.contains("x-short-token"),
        "{said}"
    );
    // Whitespace from an env file: the token still matches what the bridge presents.
    let token = "f12-token-0123456789abcdef-0123456789";
    let (line, said, child) = serve_with_token(&case, &format!("  {token} \n"));
    let mut child = child.unwrap_or_else(|| panic!("{said}"));
    let addr = line.trim().trim_start_matches("listening on ").to_string();
    let status = |presented: &str| {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(&addr).unwrap();
        write!(
            stream,
            "GET /v1/events/999 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {presented}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer.split(' ').nth(1).unwrap_or_default().to_string()
    };
    let trimmed = status(token);
    let wrong = status("f12-token-0123456789abcdef-01234567XX");
    child.kill().unwrap();
    child.wait().unwrap();
    // Past the token check (no such event) for the trimmed token; refused otherwise.
    assert_eq!(trimmed, "404");
    assert_eq!(wrong, "401");
}

#[test]
fn a_plain_http_callback_off_this_machine_or_without_a_lifecycle_is_refused() {
    let secret = "cb-secret-0123456789abcdef-0123456789";
    for (extra, why) in [
        (
            "callback_url = \"http://192.0.2.10/wp-json/domain-host/v1/stage\"\n\
             [lifecycle]\ntargets = [\"192.0.2.1\"]\n",
            "is plain http:// to a host that is not loopback",
        ),
        (
            "callback_url = \"https://network.example/wp-json/domain-host/v1/stage\"\n",
            "there is no [lifecycle] table",
        ),
    ] {
        let (case, emu) = setup(
            "callback",
            &format!(
                "[service]\ntoken_env = \"DH_F15_TOKEN\"\ncallback_secret = \"{secret}\"\n{extra}"
            ),
        );
        let run = case.run(&["add-domain", "example.com", "--site", "1"]);
        assert_eq!(run.status, 2, "{}", run.all_output());
        assert!(run.stderr.contains(why), "{}", run.stderr);
        assert!(!run.all_output().contains(secret));
        assert!(emu.requests().is_empty(), "nothing sent");
    }
}
