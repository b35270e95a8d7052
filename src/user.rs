//! Who runs agentbox, from /etc/passwd directly: no NSS, so a static build stays static.

/// Name and home directory of `uid`, when /etc/passwd has it.
pub fn lookup(uid: u32) -> Option<(String, String)> {
    let text = std::fs::read_to_string("/etc/passwd").ok()?;
    parse(&text, uid)
}

fn parse(text: &str, uid: u32) -> Option<(String, String)> {
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 7 && f[2].parse::<u32>().ok() == Some(uid))
            .then(|| (f[0].to_string(), f[5].to_string()))
    })
}

/// The user's name: $USER, else /etc/passwd, else the uid.
pub fn name() -> String {
    let uid = nix::unistd::getuid().as_raw();
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(|| lookup(uid).map(|x| x.0))
        .unwrap_or_else(|| uid.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_passwd() {
        let t = "root:x:0:0:root:/root:/bin/bash\nu:x:1000:1000::/home/u:/bin/sh\n";
        assert_eq!(super::parse(t, 1000), Some(("u".into(), "/home/u".into())));
        assert_eq!(super::parse(t, 5), None);
    }
}
