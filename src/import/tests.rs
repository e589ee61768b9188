use super::*;

#[test]
fn quoting_and_names() {
    assert_eq!(quote("a\"b\\c\n\u{1}"), r#""a\"b\\c\n\u0001""#);
    assert_eq!(quote_list(&["a", "b c"]), r#"["a", "b c"]"#);
    assert_eq!(literal("$HOME ${X}"), "$$HOME $${X}");
    assert_eq!(service_name("a:b/c.d"), "a_b_c.d");
    assert_eq!(table_key("a.b"), r#""a.b""#);
}

#[test]
fn render_counts_and_comments() {
    let mut u = Unit {
        name: "web".into(),
        origin: "[program:web]".into(),
        ..Unit::default()
    };
    u.set("command", quote_list(&["web"]), "");
    u.set("restart", quote("always"), "autorestart = true");
    u.note("umask", "022", "no umask");
    u.env.push(("A B".into(), "1".into()));
    let job = Unit {
        name: "init".into(),
        oneshot: true,
        ..Unit::default()
    };
    let d = Draft {
        notes: vec![note("[supervisord] pidfile", "/x", "none")],
        units: vec![u, job],
        ..Draft::default()
    };
    let out = render("x.conf", &d);
    assert_eq!((out.services, out.oneshots, out.not_imported), (1, 1, 2));
    assert!(out.toml.contains("[service.web]\ncommand = [\"web\"]\n"));
    assert!(out.toml.contains("# autorestart = true\n"));
    assert!(out.toml.contains("env = { \"A B\" = \"1\" }\n"));
    assert!(
        out.toml
            .contains("# not imported: umask = 022 (no umask)\n")
    );
    assert!(toml_edit::ImDocument::parse(out.toml).is_ok());
}

#[test]
fn execline_up_lines() {
    assert_eq!(
        s6::rc::plain_command("# comment\n/usr/bin/migrate \"a b\"\n"),
        Some(vec!["/usr/bin/migrate".to_string(), "a b".to_string()])
    );
    assert_eq!(s6::rc::plain_command("if { true } echo x"), None);
    assert_eq!(s6::rc::plain_command("foreground { a } b"), None);
    assert_eq!(s6::rc::plain_command("echo ${X}"), None);
}

#[test]
fn names_met_twice_are_renamed() {
    let unit = |n: &str| Unit {
        name: n.into(),
        ..Unit::default()
    };
    let mut units = vec![unit("a"), unit("a"), unit("a-2"), unit("a")];
    unique_names(&mut units);
    let names: Vec<&str> = units.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["a", "a-2", "a-2-2", "a-3"]);
    assert!(units[1].origin.contains("renamed"));
}
