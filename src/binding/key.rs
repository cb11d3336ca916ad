//! Key arguments, read from JS in one call into an inline buffer: napi-rs's `String`
//! asks V8 for the length first, then allocates and copies, which is a fifth of a
//! `get`. A key too long for the buffer is read again the usual way. Tested through JS
//! (`__test__/store.test.js`: keys of every length around the buffer's edge), since
//! it needs a live Node-API environment.

use napi::bindgen_prelude::*;
use napi::sys;

const INLINE: usize = 128;
/// A UTF-8 character is at most this many bytes; V8 writes only whole ones.
const LONGEST_CHAR: usize = 4;

/// A JS string argument (a key), as `&str` through [`KeyArg::as_str`].
pub struct KeyArg {
    inline: [u8; INLINE],
    /// Bytes of `inline` in use; meaningless when `heap` is set.
    len: usize,
    heap: Option<String>,
}

impl KeyArg {
    pub fn as_str(&self) -> &str {
        match &self.heap {
            Some(s) => s,
            // Checked when it was read (see `from_napi_value`).
            None => std::str::from_utf8(&self.inline[..self.len]).expect("checked UTF-8"),
        }
    }
}

impl TypeName for KeyArg {
    fn type_name() -> &'static str {
        "String"
    }

    fn value_type() -> ValueType {
        ValueType::String
    }
}

impl ValidateNapiValue for KeyArg {}

impl FromNapiValue for KeyArg {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> Result<Self> {
        let mut key = KeyArg {
            inline: [0; INLINE],
            len: 0,
            heap: None,
        };
        let mut written = 0;
        // SAFETY: the buffer is `INLINE` bytes; V8 writes at most `INLINE - 1` and a NUL.
        let status = unsafe {
            sys::napi_get_value_string_utf8(
                env,
                value,
                key.inline.as_mut_ptr().cast(),
                INLINE,
                &mut written,
            )
        };
        if status != sys::Status::napi_ok {
            return Err(Error::new(Status::from(status), "a key must be a string"));
        }
        // With room left for the longest character, V8 stopped because the string ended
        // (and it writes whole characters: the check below only guards that promise).
        let whole = written + LONGEST_CHAR < INLINE - 1;
        if whole && std::str::from_utf8(&key.inline[..written]).is_ok() {
            key.len = written;
        } else {
            // SAFETY: the same arguments napi-rs was given.
            key.heap = Some(unsafe { String::from_napi_value(env, value)? });
        }
        Ok(key)
    }
}
