//! The scrubbing of native error messages, offered to the TypeScript layer so that the messages it
//! builds (an abort before the open started, the command line's output) follow the same rules from the
//! same code: no URL user info, no signed query values, no credential values.

use std::collections::HashMap;

use napi_derive::napi;

use crate::source::options::{scrub, secret_values};
use crate::source::remote::environment_secrets;

/// `message` without credentials, by the rules of every native error message: URL user info and signed
/// query values become `***`, and so do the values of `storageOptions` that may be secret and the
/// credentials found in the environment (`AWS_*`, `GOOGLE_*`, `AZURE_*`).
///
/// ```ts
/// scrubMessage('opening http://me:pw@host/a.zarr?X-Amz-Signature=abc') // 'opening http://***@host/a.zarr?X-Amz-Signature=***'
/// ```
#[napi]
#[must_use]
// napi hands over owned values, and converts a JavaScript object to a HashMap of the default hasher.
#[allow(clippy::needless_pass_by_value, clippy::implicit_hasher)]
pub fn scrub_message(message: String, storage_options: Option<HashMap<String, String>>) -> String {
    let entries: Vec<(String, String)> = storage_options.unwrap_or_default().into_iter().collect();
    let mut secrets = secret_values(&entries);
    secrets.extend(environment_secrets());
    scrub(&message, &secrets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_user_info_signatures_and_option_secrets() {
        let options = HashMap::from([("sessionToken".to_owned(), "tok-rtsecret-42".to_owned())]);
        let s = scrub_message(
            "opening http://user:PASS@h:9/a.zarr?X-Amz-Signature=SIG&x=tok-rtsecret-42".to_owned(),
            Some(options),
        );
        assert_eq!(s, "opening http://***@h:9/a.zarr?X-Amz-Signature=***&x=***");
    }
}
