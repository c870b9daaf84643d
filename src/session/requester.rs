//! Who a code exchange or a refresh is made for: the end user's IP address and browser user
//! agent, which WorkOS records on its session (its dashboard shows them, and Radar uses them to
//! spot unusual sign-ins). Sent with every authenticate call the crate makes for a request.

/// The end user behind a request, as WorkOS's authenticate calls take it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Requester {
    /// The client's IP address (from the connection, or a trusted proxy's header).
    pub ip_address: Option<String>,
    /// The browser's `User-Agent`, at most [`MAX_USER_AGENT`] bytes.
    pub user_agent: Option<String>,
}

/// The longest user agent sent (longer ones are cut at a character boundary).
pub(crate) const MAX_USER_AGENT: usize = 512;

impl Requester {
    /// A requester with `ip_address` and `user_agent` (cut to [`MAX_USER_AGENT`] bytes).
    pub(crate) fn new(ip_address: Option<String>, user_agent: Option<&str>) -> Requester {
        let user_agent = user_agent.filter(|ua| !ua.is_empty()).map(|ua| {
            let mut end = ua.len().min(MAX_USER_AGENT);
            while !ua.is_char_boundary(end) {
                end -= 1;
            }
            ua[..end].to_owned()
        });
        Requester {
            ip_address,
            user_agent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_user_agents_are_cut_at_a_character_boundary() {
        let long = "é".repeat(400); // 800 bytes
        let requester = Requester::new(None, Some(&long));
        let ua = requester.user_agent.unwrap();
        assert!(ua.len() <= MAX_USER_AGENT && ua.len() >= MAX_USER_AGENT - 1);
        assert!(long.starts_with(&ua));
        assert_eq!(Requester::new(None, Some("")).user_agent, None);
    }
}
