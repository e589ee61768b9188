use super::*;

fn draft(text: &str) -> Result<Draft, String> {
    let sources = ini::parse(text)?
        .into_iter()
        .map(|section| Source {
            here: "/etc/sv".into(),
            file: "/etc/sv/supervisord.conf".into(),
            section,
        })
        .collect::<Vec<_>>();
    map(&sources)
}

fn key<'u>(u: &'u Unit, k: &str) -> Option<&'u str> {
    u.keys
        .iter()
        .find(|(key, _, _)| key == k)
        .map(|(_, v, _)| v.as_str())
}

#[test]
fn references_expand_as_supervisord_does() {
    let look = |n: &str| match n {
        "process_num" => Some("7".to_string()),
        "program_name" => Some("web".to_string()),
        n => n.strip_prefix("ENV_").map(|v| format!("${{{v}}}")),
    };
    let got = interpolate(
        "%(program_name)s_%(process_num)02d %(ENV_HOME)s 100%% $x",
        &look,
        true,
    );
    assert_eq!(got.unwrap(), "web_07 ${HOME} 100% $$x");
    assert!(interpolate("%(nope)s", &look, true).is_err());
    assert!(interpolate("50%", &look, true).is_err());
    assert!(interpolate("%(program_name)", &look, true).is_err());
    assert_eq!(pad("3", "-3", "s"), "3  ");
}

#[test]
fn supervisord_defaults_are_written_out() {
    let d = draft("[program:web]\ncommand=nginx -g 'daemon off;'\n").unwrap();
    let u = &d.units[0];
    assert_eq!(u.name, "web");
    assert_eq!(key(u, "command"), Some(r#"["nginx", "-g", "daemon off;"]"#));
    assert_eq!(key(u, "restart"), Some(r#""on-failure""#));
    assert_eq!(key(u, "stable_after"), Some(r#""1s""#));
    assert_eq!(key(u, "give_up_after"), Some("4"));
    assert!(u.notes.is_empty());
}

#[test]
fn each_setting_maps() {
    let d = draft(
        "[program:w]\ncommand=/bin/w %(here)s\nautorestart=true\nexitcodes=0,2\nstartsecs=5\n\
         startretries=0\nstopsignal=SIGQUIT\nstopwaitsecs=3\nautostart=false\nuser=nobody\n\
         directory=/srv\nenvironment=A=\"x,y\",B=%(ENV_B)s\numask=022\n\
         stdout_logfile=/var/log/w.log\nstdout_logfile_maxbytes=2MB\nstdout_logfile_backups=3\n\
         stderr_logfile=/var/log/w.err\n",
    )
    .unwrap();
    let u = &d.units[0];
    assert_eq!(key(u, "command"), Some(r#"["/bin/w", "/etc/sv"]"#));
    assert_eq!(key(u, "restart"), Some(r#""always""#));
    assert_eq!(key(u, "success_exit_codes"), Some("[0, 2]"));
    assert_eq!(key(u, "stable_after"), Some(r#""5s""#));
    assert_eq!(key(u, "give_up_after"), Some("1"));
    assert_eq!(key(u, "stop_signal"), Some(r#""QUIT""#));
    assert_eq!(key(u, "stop_timeout"), Some(r#""3s""#));
    assert_eq!(key(u, "enabled"), Some("false"));
    assert_eq!(key(u, "output"), Some(r#""/var/log/w.log""#));
    assert_eq!(key(u, "output_max_size"), Some(r#""2MiB""#));
    assert_eq!(key(u, "output_keep"), Some("3"));
    assert_eq!(
        u.env,
        [("A".into(), "x,y".into()), ("B".into(), "${B}".into())]
    );
    assert_eq!(u.notes.len(), 2, "{:?}", u.notes);
    assert!(u.notes[0].starts_with("umask = 022 ("));
    assert!(u.notes[1].starts_with("stderr_logfile = /var/log/w.err ("));
}

#[test]
fn docker_style_output_is_inherit() {
    let d = draft(
        "[program:a]\ncommand=a\nstdout_logfile=/dev/stdout\nstdout_logfile_maxbytes=0\n\
         redirect_stderr=true\n[program:b]\ncommand=b\nautorestart=false\n\
         stdout_logfile=NONE\nstderr_logfile=NONE\n",
    )
    .unwrap();
    assert_eq!(key(&d.units[0], "output"), Some(r#""inherit""#));
    assert_eq!(d.units[0].notes.len(), 1, "maxbytes of a non-file");
    assert_eq!(key(&d.units[1], "output"), Some(r#""null""#));
    assert_eq!(key(&d.units[1], "restart"), Some(r#""never""#));
    assert!(d.units[1].notes.is_empty());
}

#[test]
fn numprocs_and_priority() {
    let d = draft(
        "[program:db]\ncommand=db\npriority=1\n[program:q]\ncommand=q %(process_num)d\n\
         numprocs=3\nnumprocs_start=1\nprocess_name=%(program_name)s_%(process_num)02d\n\
         [program:web]\ncommand=web\npriority=1000\n",
    )
    .unwrap();
    let names: Vec<&str> = d.units.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["db", "q_01", "q_02", "q_03", "web"]);
    assert_eq!(key(&d.units[2], "command"), Some(r#"["q", "2"]"#));
    assert_eq!(key(&d.units[1], "after"), Some(r#"["db"]"#));
    assert_eq!(key(&d.units[0], "after"), None);
    assert_eq!(
        key(&d.units[4], "after"),
        Some(r#"["q_01", "q_02", "q_03"]"#)
    );
    assert!(draft("[program:q]\ncommand=q\nnumprocs=2\n").is_err());
}

#[test]
fn bad_values_are_errors_and_other_sections_notes() {
    assert!(draft("[program:a]\ncommand=a\nautorestart=sometimes\n").is_err());
    assert!(draft("[program:a]\ncommand=a\nstartsecs=soon\n").is_err());
    assert!(draft("[program:a]\ncommand=a\nstopsignal=NOPE\n").is_err());
    assert!(draft("[program:a]\ncommand='a\n").is_err());
    assert!(draft("[program:a]\ndirectory=/\n").is_err());
    let d = draft(
        "[supervisord]\nloglevel=blather\nnodaemon=true\nenvironment=X=1\n\
         [group:g]\nprograms=a\n[program:a]\ncommand=a %(group_name)s\nenvironment=X=2\n\
         [eventlistener:e]\ncommand=e\n",
    )
    .unwrap();
    assert_eq!(d.settings[0].1, r#""debug""#);
    assert_eq!(key(&d.units[0], "command"), Some(r#"["a", "g"]"#));
    assert_eq!(d.units[0].env, [("X".into(), "2".into())]);
    assert_eq!(d.notes.len(), 3, "{:?}", d.notes);
}
