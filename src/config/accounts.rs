//! Users and groups, read from /etc/passwd and /etc/group directly: a static glibc binary
//! must not use NSS, and a container's files are the truth anyway.

use crate::types::Credentials;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Group {
    name: String,
    gid: u32,
    members: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Accounts {
    users: Vec<User>,
    groups: Vec<Group>,
}

/// What a service runs as: ids plus the environment a login would set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunAs {
    pub credentials: Credentials,
    /// HOME, USER, LOGNAME (only when `user` was given).
    pub env: Vec<(String, String)>,
}

impl Accounts {
    pub fn load() -> Accounts {
        super::note_read(std::path::Path::new("/etc/passwd"));
        super::note_read(std::path::Path::new("/etc/group"));
        Accounts::parse(
            &std::fs::read_to_string("/etc/passwd").unwrap_or_default(),
            &std::fs::read_to_string("/etc/group").unwrap_or_default(),
        )
    }

    pub fn parse(passwd: &str, group: &str) -> Accounts {
        let fields = |line: &str| -> Vec<String> { line.split(':').map(str::to_string).collect() };
        let users = passwd
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let f = fields(l);
                Some(User {
                    name: f.first()?.clone(),
                    uid: f.get(2)?.parse().ok()?,
                    gid: f.get(3)?.parse().ok()?,
                    home: f.get(5).cloned().unwrap_or_else(|| "/".into()),
                })
            })
            .collect();
        let groups = group
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let f = fields(l);
                Some(Group {
                    name: f.first()?.clone(),
                    gid: f.get(2)?.parse().ok()?,
                    members: f
                        .get(3)
                        .map(|m| {
                            m.split(',')
                                .filter(|s| !s.is_empty())
                                .map(str::to_string)
                                .collect()
                        })
                        .unwrap_or_default(),
                })
            })
            .collect();
        Accounts { users, groups }
    }

    /// A user by name or number; a number with no entry is taken as is.
    pub fn user(&self, spec: &str) -> Option<User> {
        if let Some(u) = self.users.iter().find(|u| u.name == spec) {
            return Some(u.clone());
        }
        let uid: u32 = spec.parse().ok()?;
        Some(
            self.users
                .iter()
                .find(|u| u.uid == uid)
                .cloned()
                .unwrap_or(User {
                    name: spec.to_string(),
                    uid,
                    gid: uid,
                    home: "/".into(),
                }),
        )
    }

    /// A group id by name or number.
    pub fn group(&self, spec: &str) -> Option<u32> {
        if let Some(g) = self.groups.iter().find(|g| g.name == spec) {
            return Some(g.gid);
        }
        spec.parse().ok()
    }

    /// Resolves `user` and `group` into ids: the user's primary group unless `group` names
    /// another, plus every group that lists the user as a member. Errors name what is unknown.
    /// The ids and login environment for `user` and `group`; an unknown one is an error
    /// keyed by its config key ("user", "group"), both reported when both are unknown.
    pub fn run_as(
        &self,
        user: Option<&str>,
        group: Option<&str>,
    ) -> Result<RunAs, Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let user = user.and_then(|spec| {
            let found = self.user(spec);
            if found.is_none() {
                errors.push((
                    "user",
                    format!("unknown user {spec:?} (not in /etc/passwd)"),
                ));
            }
            found
        });
        let gid = group.and_then(|spec| {
            let found = self.group(spec);
            if found.is_none() {
                errors.push((
                    "group",
                    format!("unknown group {spec:?} (not in /etc/group)"),
                ));
            }
            found
        });
        if !errors.is_empty() {
            return Err(errors);
        }
        // SAFETY: getuid never fails.
        let current_uid = unsafe { libc::getuid() };
        let (uid, primary) = match &user {
            Some(u) => (u.uid, gid.unwrap_or(u.gid)),
            None => (
                current_uid,
                gid.unwrap_or_else(|| unsafe { libc::getgid() }),
            ),
        };
        let mut groups = vec![primary];
        if let Some(u) = &user {
            for g in &self.groups {
                if g.members.contains(&u.name) && !groups.contains(&g.gid) {
                    groups.push(g.gid);
                }
            }
        }
        let env = match &user {
            Some(u) => vec![
                ("HOME".into(), u.home.clone()),
                ("USER".into(), u.name.clone()),
                ("LOGNAME".into(), u.name.clone()),
            ],
            None => Vec::new(),
        };
        Ok(RunAs {
            credentials: Credentials {
                uid,
                gid: primary,
                groups,
            },
            env,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
                          www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n\
                          nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
    const GROUP: &str = "root:x:0:\nwww-data:x:33:\nadm:x:4:syslog,www-data\nnogroup:x:65534:\n";

    #[test]
    fn resolves_names_groups_and_supplementary_groups() {
        let acc = Accounts::parse(PASSWD, GROUP);
        let r = acc.run_as(Some("www-data"), None).unwrap();
        assert_eq!(r.credentials.uid, 33);
        assert_eq!(r.credentials.gid, 33);
        assert_eq!(r.credentials.groups, vec![33, 4]);
        assert!(r.env.contains(&("HOME".into(), "/var/www".into())));
        assert!(r.env.contains(&("USER".into(), "www-data".into())));
        let r = acc.run_as(Some("nobody"), Some("adm")).unwrap();
        assert_eq!((r.credentials.uid, r.credentials.gid), (65534, 4));
    }

    #[test]
    fn numbers_are_accepted_and_unknown_names_are_errors() {
        let acc = Accounts::parse(PASSWD, GROUP);
        let r = acc.run_as(Some("1234"), Some("77")).unwrap();
        assert_eq!((r.credentials.uid, r.credentials.gid), (1234, 77));
        assert_eq!(acc.run_as(Some("33"), None).unwrap().env[1].1, "www-data");
        let keys = |u, g| -> Vec<&'static str> {
            acc.run_as(u, g)
                .unwrap_err()
                .into_iter()
                .map(|(k, _)| k)
                .collect()
        };
        assert_eq!(keys(Some("nosuch"), None), ["user"]);
        assert_eq!(keys(None, Some("nosuch")), ["group"]);
        // Both unknown: both reported.
        assert_eq!(keys(Some("nosuch"), Some("nosuch")), ["user", "group"]);
    }
}
