//! Who the container runs as: run_as_user / run_as_username / the image's user, resolved
//! through the image's /etc/passwd and /etc/group, plus supplemental groups per policy.

use crate::api::v1::{LinuxContainerSecurityContext, SupplementalGroupsPolicy};
use oci_spec::runtime::Spec;

use super::SpecError;

/// The image's /etc/passwd and /etc/group (empty when it has none).
#[derive(Debug, Clone, Default)]
pub struct ImageUsers {
    pub passwd: String,
    pub group: String,
}

struct PasswdEntry {
    name: String,
    uid: u32,
    gid: u32,
}

impl ImageUsers {
    fn users(&self) -> impl Iterator<Item = PasswdEntry> + '_ {
        self.passwd.lines().filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some(PasswdEntry {
                name: f.first()?.to_string(),
                uid: f.get(2)?.parse().ok()?,
                gid: f.get(3)?.parse().ok()?,
            })
        })
    }

    fn group_id(&self, name: &str) -> Option<u32> {
        self.group
            .lines()
            .map(|l| l.split(':').collect::<Vec<_>>())
            .find(|f| f.first() == Some(&name))
            .and_then(|f| f.get(2)?.parse().ok())
    }

    /// The groups that list `user` as a member.
    fn member_of(&self, user: &str) -> Vec<u32> {
        self.group
            .lines()
            .map(|l| l.split(':').collect::<Vec<_>>())
            .filter(|f| f.get(3).is_some_and(|m| m.split(',').any(|u| u == user)))
            .filter_map(|f| f.get(2)?.parse().ok())
            .collect()
    }
}

/// Resolved identity.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
}

fn id(v: i64, field: &str) -> Result<u32, SpecError> {
    u32::try_from(v).map_err(|_| SpecError::invalid(field, format!("{v} is not a valid ID")))
}

/// `user[:group]` of the image, by number or by name.
fn image_user(spec: &str, users: &ImageUsers) -> Result<(u32, u32, Option<String>), SpecError> {
    let (user, group) = spec.split_once(':').map_or((spec, None), |(u, g)| (u, Some(g)));
    let entry = users.users().find(|e| e.name == user || e.uid.to_string() == user);
    let (uid, mut gid, name) = match (user.parse::<u32>(), entry) {
        (Ok(uid), e) => (uid, e.as_ref().map_or(0, |e| e.gid), e.map(|e| e.name)),
        (Err(_), Some(e)) => (e.uid, e.gid, Some(e.name)),
        (Err(_), None) if user.is_empty() => (0, 0, Some("root".into())),
        (Err(_), None) => {
            return Err(SpecError::invalid(
                "image user",
                format!("{user:?} is not in the image's /etc/passwd"),
            ))
        }
    };
    if let Some(g) = group {
        gid = g.parse().ok().or_else(|| users.group_id(g)).ok_or_else(|| {
            SpecError::invalid(
                "image user",
                format!("group {g:?} is not in the image's /etc/group"),
            )
        })?;
    }
    Ok((uid, gid, name))
}

pub fn resolve(
    image_user_spec: &str,
    sc: &LinuxContainerSecurityContext,
    users: &ImageUsers,
) -> Result<Identity, SpecError> {
    const P: &str = "config.linux.security_context";
    let named = !sc.run_as_username.is_empty();
    if sc.run_as_group.is_some() && sc.run_as_user.is_none() && !named {
        return Err(SpecError::invalid(
            &format!("{P}.run_as_group"),
            "needs run_as_user or run_as_username",
        ));
    }
    let (uid, mut gid, name) = if let Some(u) = &sc.run_as_user {
        let uid = id(u.value, &format!("{P}.run_as_user"))?;
        let entry = users.users().find(|e| e.uid == uid);
        (uid, entry.as_ref().map_or(0, |e| e.gid), entry.map(|e| e.name))
    } else if named {
        let e = users.users().find(|e| e.name == sc.run_as_username).ok_or_else(|| {
            SpecError::invalid(
                &format!("{P}.run_as_username"),
                format!("{:?} is not in the image's /etc/passwd", sc.run_as_username),
            )
        })?;
        (e.uid, e.gid, Some(e.name))
    } else {
        image_user(image_user_spec, users)?
    };
    if let Some(g) = &sc.run_as_group {
        gid = id(g.value, &format!("{P}.run_as_group"))?;
    }
    let mut additional_gids = Vec::new();
    if sc.supplemental_groups_policy != SupplementalGroupsPolicy::Strict as i32 {
        additional_gids.extend(name.as_deref().map(|n| users.member_of(n)).unwrap_or_default());
    }
    for g in &sc.supplemental_groups {
        additional_gids.push(id(*g, &format!("{P}.supplemental_groups"))?);
    }
    additional_gids.retain(|g| *g != gid);
    additional_gids.sort_unstable();
    additional_gids.dedup();
    // The primary group leads the list, as containerd and Docker do: setgroups() replaces the
    // process's groups, so without it `id -G` would not show the primary group.
    additional_gids.insert(0, gid);
    Ok(Identity { uid, gid, additional_gids })
}

pub fn set_identity(spec: &mut Spec, who: &Identity) {
    let user = super::process_of(spec).user_mut();
    user.set_uid(who.uid);
    user.set_gid(who.gid);
    user.set_additional_gids(Some(who.additional_gids.clone()).filter(|g| !g.is_empty()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::v1::Int64Value;

    fn users() -> ImageUsers {
        ImageUsers {
            passwd: "root:x:0:0:root:/root:/bin/sh\nweb:x:1000:1001::/home/web:/bin/sh\n".into(),
            group: "root:x:0:\nweb:x:1001:\naudio:x:29:web,other\nvideo:x:44:other\n".into(),
        }
    }

    fn ctx(f: impl FnOnce(&mut LinuxContainerSecurityContext)) -> LinuxContainerSecurityContext {
        let mut c = LinuxContainerSecurityContext::default();
        f(&mut c);
        c
    }

    #[test]
    fn users_by_number_by_name_and_from_the_image() {
        let by_uid =
            resolve("", &ctx(|c| c.run_as_user = Some(Int64Value { value: 1000 })), &users())
                .unwrap();
        assert_eq!(by_uid, Identity { uid: 1000, gid: 1001, additional_gids: vec![1001, 29] });
        let by_name = resolve("", &ctx(|c| c.run_as_username = "web".into()), &users()).unwrap();
        assert_eq!(by_name, by_uid);
        assert_eq!(
            resolve("web:audio", &ctx(|_| {}), &users()).unwrap(),
            Identity { uid: 1000, gid: 29, additional_gids: vec![29] }
        );
        assert_eq!(
            resolve("", &ctx(|_| {}), &users()).unwrap(),
            Identity { uid: 0, gid: 0, additional_gids: vec![0] }
        );
        assert_eq!(
            resolve("4242:7", &ctx(|_| {}), &ImageUsers::default()).unwrap(),
            Identity { uid: 4242, gid: 7, additional_gids: vec![7] }
        );
    }

    #[test]
    fn groups_follow_the_policy_and_the_request() {
        let c = ctx(|c| {
            c.run_as_user = Some(Int64Value { value: 1000 });
            c.run_as_group = Some(Int64Value { value: 5 });
            c.supplemental_groups = vec![44, 5];
        });
        assert_eq!(
            resolve("", &c, &users()).unwrap(),
            Identity { uid: 1000, gid: 5, additional_gids: vec![5, 29, 44] }
        );
        let strict = LinuxContainerSecurityContext {
            supplemental_groups_policy: SupplementalGroupsPolicy::Strict as i32,
            ..c
        };
        assert_eq!(resolve("", &strict, &users()).unwrap().additional_gids, [5, 44]);
    }

    #[test]
    fn bad_identities_name_the_field() {
        let group_only = ctx(|c| c.run_as_group = Some(Int64Value { value: 1 }));
        assert!(resolve("", &group_only, &users())
            .unwrap_err()
            .to_string()
            .contains("run_as_group"));
        let unknown = ctx(|c| c.run_as_username = "nobody-here".into());
        assert!(resolve("", &unknown, &users())
            .unwrap_err()
            .to_string()
            .contains("run_as_username"));
        assert!(resolve("ghost", &ctx(|_| {}), &users())
            .unwrap_err()
            .to_string()
            .contains("image user"));
        let negative = ctx(|c| c.run_as_user = Some(Int64Value { value: -1 }));
        assert!(resolve("", &negative, &users()).unwrap_err().to_string().contains("run_as_user"));
    }
}
