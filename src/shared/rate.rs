//! The per-caller rate limit, held for the whole deployment: GCRA in one Lua script, on
//! Redis's own clock, so replicas agree whatever their clocks say.
//!
//! A bucket stores its theoretical arrival time (microseconds); a request passes when that
//! time is at most `(burst - 1)` intervals ahead of now, and moves it one interval on. The
//! same rule as governor's, which each replica falls back to.

use std::{sync::LazyLock, time::Duration};

use redis::Script;

use super::{Shared, SharedError};

/// Returns 0 when the request passes, otherwise the microseconds until one will.
const GCRA: &str = r"
local now = redis.call('TIME')
now = tonumber(now[1]) * 1000000 + tonumber(now[2])
local interval = tonumber(ARGV[1])
local tolerance = interval * (tonumber(ARGV[2]) - 1)
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local wait = tat - tolerance - now
if wait > 0 then return wait end
tat = tat + interval
redis.call('SET', KEYS[1], tat, 'PX', math.ceil((tat - now) / 1000) + 1)
return 0";

static GCRA_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(GCRA));

impl Shared {
    /// Takes one request from the deployment-wide bucket of `caller` (`per_minute`, bursts of
    /// `burst`): `Ok(Err(wait))` when it is over the limit.
    pub(crate) async fn acquire(
        &self,
        caller: &str,
        per_minute: u32,
        burst: u32,
    ) -> Result<Result<(), Duration>, SharedError> {
        let bucket = crate::hex::sha256(caller.as_bytes(), 16);
        let interval = 60_000_000 / u64::from(per_minute.max(1));
        let mut invocation = GCRA_SCRIPT.prepare_invoke();
        invocation
            .key(self.key(&format!("rate:{bucket}")))
            .arg(interval)
            .arg(burst.max(1));
        let wait: u64 = self.script("rate_acquire", invocation).await?;
        Ok(match wait {
            0 => Ok(()),
            micros => Err(Duration::from_micros(micros)),
        })
    }
}
