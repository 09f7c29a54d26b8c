use super::*;

#[test]
fn expires_in_is_clamped_to_a_believable_lifetime() {
    assert_eq!(token_lifetime(None), DEFAULT_LIFETIME);
    assert_eq!(token_lifetime(Some(3600)), Duration::from_secs(3600));
    assert_eq!(token_lifetime(Some(0)), Duration::from_secs(1));
    assert_eq!(token_lifetime(Some(u64::MAX)), Duration::from_secs(86_400));
    // Adding the longest to now cannot overflow an Instant.
    let _ = Instant::now() + token_lifetime(Some(u64::MAX));
}

#[test]
fn tokens_are_replaced_a_tenth_of_their_life_early_at_most_a_minute() {
    assert_eq!(
        refresh_margin(Duration::from_secs(3600)),
        Duration::from_secs(60)
    );
    assert_eq!(
        refresh_margin(Duration::from_secs(10)),
        Duration::from_secs(1)
    );
    assert_eq!(refresh_margin(Duration::ZERO), Duration::ZERO);
}
