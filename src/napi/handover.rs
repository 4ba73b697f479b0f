//! Handing decoded buffers to JavaScript as typed arrays.
//!
//! The fast path gives V8 the Rust allocation itself (an external `ArrayBuffer`), so a read costs no
//! copy. Runtimes with the V8 memory cage (Electron ≥ 21, Deno's napi layer) refuse external buffers with
//! `napi_no_external_buffers_allowed`; there we allocate a JS-owned `ArrayBuffer` and copy into it.
//! Setting `RUSTYTREE_COPY_BUFFERS=1` forces the copy path everywhere, which is how the tests exercise
//! it on a Node that allows external buffers.

use std::ffi::c_void;
use std::ptr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use napi::bindgen_prelude::{ToNapiValue, TypeName};
use napi::{Error, Status, sys};
use napi_derive::napi;

use crate::typed::TypedData;

/// Buffers handed over without a copy.
static EXTERNAL: AtomicU64 = AtomicU64::new(0);
/// Buffers copied into JS-owned memory (external buffers refused, or the forced copy mode).
static COPIED: AtomicU64 = AtomicU64::new(0);

/// How decoded buffers have reached JavaScript in this process so far.
#[napi(object)]
pub struct NativeHandoverStats {
    /// Typed arrays that own the Rust allocation (no copy).
    pub external: f64,
    /// Typed arrays whose bytes were copied into a JS-owned `ArrayBuffer`.
    pub copied: f64,
    /// Whether `RUSTYTREE_COPY_BUFFERS` forces copies.
    pub copy_forced: bool,
}

/// Counters of the two hand-over paths, for diagnostics and the copy-path tests.
#[napi]
#[must_use]
#[allow(clippy::cast_precision_loss)] // counts stay far below 2^53
pub fn handover_stats() -> NativeHandoverStats {
    NativeHandoverStats {
        external: EXTERNAL.load(Ordering::Relaxed) as f64,
        copied: COPIED.load(Ordering::Relaxed) as f64,
        copy_forced: copy_forced(),
    }
}

fn copy_forced() -> bool {
    static FORCED: OnceLock<bool> = OnceLock::new();
    *FORCED.get_or_init(|| {
        std::env::var("RUSTYTREE_COPY_BUFFERS").is_ok_and(|v| !v.is_empty() && v != "0")
    })
}

/// A decoded element buffer on its way to JavaScript as a typed array.
pub struct JsTypedData(pub TypedData);

impl TypeName for JsTypedData {
    fn type_name() -> &'static str {
        "TypedArray"
    }

    fn value_type() -> napi::ValueType {
        napi::ValueType::Object
    }
}

impl ToNapiValue for JsTypedData {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        use sys::TypedarrayType as T;
        // Past V8's limits creating the array is a fatal error, not an exception: refuse it here, whatever
        // produced the buffer (reads check before decoding, with the array's path in the message).
        if let Some(why) = val.0.refused_by_js() {
            return Err(Error::new(
                Status::GenericFailure,
                format!("[ERR_INVALID_SELECTION] {why}"),
            ));
        }
        // SAFETY: `env` is the live environment napi handed to this conversion.
        unsafe {
            match val.0 {
                TypedData::I8(v) => typed_array(env, v, T::int8_array),
                TypedData::I16(v) => typed_array(env, v, T::int16_array),
                TypedData::I32(v) => typed_array(env, v, T::int32_array),
                TypedData::I64(v) => typed_array(env, v, T::bigint64_array),
                TypedData::U8(v) => typed_array(env, v, T::uint8_array),
                TypedData::U16(v) => typed_array(env, v, T::uint16_array),
                TypedData::U32(v) => typed_array(env, v, T::uint32_array),
                TypedData::U64(v) => typed_array(env, v, T::biguint64_array),
                TypedData::F32(v) => typed_array(env, v, T::float32_array),
                TypedData::F64(v) => typed_array(env, v, T::float64_array),
                TypedData::Str(v) => Vec::<String>::to_napi_value(env, v),
            }
        }
    }
}

fn check(status: sys::napi_status, what: &str) -> napi::Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(Error::new(
            Status::from(status),
            format!("[ERR_INTERNAL] {what} failed"),
        ))
    }
}

/// Releases the `Vec` behind an external `ArrayBuffer` once V8 collects it.
unsafe extern "C" fn release<T>(_env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
    // SAFETY: `hint` is the `Box<Vec<T>>` leaked in `typed_array`, released exactly once, here.
    drop(unsafe { Box::from_raw(hint.cast::<Vec<T>>()) });
}

/// Wraps `values` in a typed array of `kind`: external when the runtime allows it, else copied.
///
/// # Safety
/// `env` must be the live environment of the current call, and `kind` must match `T`'s layout.
unsafe fn typed_array<T: Copy>(
    env: sys::napi_env,
    values: Vec<T>,
    kind: sys::napi_typedarray_type,
) -> napi::Result<sys::napi_value> {
    let length = values.len();
    let bytes = std::mem::size_of_val(values.as_slice());
    let mut buffer = ptr::null_mut();
    // Empty buffers have no allocation to lend; a JS-owned empty buffer is as cheap.
    let mut to_copy = Some(values).filter(|v| !v.is_empty());
    if !copy_forced()
        && let Some(values) = to_copy.take()
    {
        let boxed = Box::new(values);
        let data = boxed.as_ptr().cast_mut().cast::<c_void>();
        let hint = Box::into_raw(boxed);
        // SAFETY: `data` stays valid until `release` frees `hint`, which owns it.
        let status = unsafe {
            sys::napi_create_external_arraybuffer(
                env,
                data,
                bytes,
                Some(release::<T>),
                hint.cast(),
                &raw mut buffer,
            )
        };
        if status == sys::Status::napi_ok {
            EXTERNAL.fetch_add(1, Ordering::Relaxed);
        } else {
            // SAFETY: V8 did not take ownership, so the box is still ours.
            let values = unsafe { Box::from_raw(hint) };
            if status != sys::Status::napi_no_external_buffers_allowed {
                check(status, "creating an external ArrayBuffer")?;
            }
            to_copy = Some(*values);
        }
    }
    if buffer.is_null() {
        let mut target: *mut c_void = ptr::null_mut();
        // SAFETY: plain allocation of `bytes` JS-owned bytes.
        check(
            unsafe { sys::napi_create_arraybuffer(env, bytes, &raw mut target, &raw mut buffer) },
            "creating an ArrayBuffer",
        )?;
        if let Some(values) = to_copy {
            // SAFETY: `target` points at `bytes` fresh bytes; the source holds exactly `bytes`.
            unsafe {
                ptr::copy_nonoverlapping(values.as_ptr().cast::<u8>(), target.cast::<u8>(), bytes);
            }
            COPIED.fetch_add(1, Ordering::Relaxed);
        }
    }
    let mut array = ptr::null_mut();
    // SAFETY: `buffer` holds `length` elements of `kind`, starting at offset 0.
    check(
        unsafe { sys::napi_create_typedarray(env, kind, length, buffer, 0, &raw mut array) },
        "creating a typed array",
    )?;
    Ok(array)
}
