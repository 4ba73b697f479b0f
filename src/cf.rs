//! CF decoding as xarray does it for Zarr v3 (`xarray.conventions.decode_cf_variable`): a per-variable
//! plan worked out from metadata alone, then applied to each decoded chunk.
//!
//! Order, as in xarray: `_Unsigned` reinterpretation and `_FillValue`/`missing_value` masking
//! (`CFMaskCoder`), `scale_factor`/`add_offset` (`CFScaleOffsetCoder`), timedeltas, datetimes, then booleans.

pub mod fill;
pub mod time;

use serde_json::{Map, Value};

use crate::dtype::Dtype;
use crate::error::{Result, RtError};
use crate::hierarchy::Attrs;
use crate::typed::TypedData;
use fill::Fill;

/// Which decoding steps to apply; mirrors xarray's `open_datatree` keyword arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Master switch: `false` returns stored values and dtypes (xarray's `decode_cf=False`).
    pub decode_cf: bool,
    /// Masking and scale/offset.
    pub mask_and_scale: bool,
    /// `"<unit> since <date>"` to `datetime64[ns]`.
    pub decode_times: bool,
    /// `None`: xarray's default (decode timedeltas only when xarray's `dtype: timedelta64[..]` attribute
    /// is present, and only while `decode_times` is on); `Some(true)`: any timedelta units; `Some(false)`: never.
    pub decode_timedelta: Option<bool>,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            decode_cf: true,
            mask_and_scale: true,
            decode_times: true,
            decode_timedelta: None,
        }
    }
}

/// Float type chosen for masked or unpacked values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    F32,
    F64,
    /// Time-like integers keep int64 and mark masked values with the `NaT` bit pattern.
    I64Nat,
    /// Integer-only `scale_factor` without `add_offset`: xarray multiplies in int64.
    I64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum TimeDecode {
    Datetime {
        unit_ns: i64,
        reference_ns: i128,
        resolution_ns: i64,
    },
    Timedelta {
        unit_ns: i64,
    },
}

/// The decoding plan for one variable.
#[derive(Debug, Clone, PartialEq)]
pub struct VariablePlan {
    /// Decoded numpy dtype name (`float32`, `datetime64[ns]`, ...).
    pub dtype: String,
    /// Attributes the user sees (CF attributes that were applied moved to `encoding`).
    pub attrs: Attrs,
    /// CF attributes that were applied, plus storage facts (stored dtype, chunks, codecs).
    pub encoding: Map<String, Value>,
    /// Names listed in the `coordinates` attribute (promoted to coordinates by the caller).
    pub coordinates: Vec<String>,
    /// Things left undecoded, said out loud (non-standard calendars, unreadable units).
    pub warnings: Vec<String>,
    stored: Dtype,
    to_unsigned: Option<bool>,
    fills: Vec<Fill>,
    target: Option<Target>,
    scale: Option<f64>,
    offset: Option<f64>,
    int_scale: Option<i64>,
    time: Option<TimeDecode>,
    to_bool: bool,
    name: String,
}

fn is_standard_calendar(calendar: &str) -> bool {
    matches!(
        calendar.to_ascii_lowercase().as_str(),
        "standard" | "gregorian" | "proleptic_gregorian"
    )
}

/// A number attribute, or the single element of a list (xarray's `.item()`).
fn number_attr(value: &Value) -> Option<(f64, bool)> {
    match value {
        Value::String(s) => crate::json::marked_float(s).map(|f| (f, false)),
        Value::Number(n) => Some((n.as_f64()?, n.is_i64() || n.is_u64())),
        Value::Array(items) if items.len() == 1 => number_attr(&items[0]).map(|(f, _)| (f, false)),
        _ => None,
    }
}

impl VariablePlan {
    /// Works out how to decode variable `name` of stored type `stored` with attributes `attrs`.
    ///
    /// # Errors
    /// `ERR_CF_DECODE` for CF attributes that cannot be applied (a non-numeric `scale_factor`, an
    /// `_Unsigned="false"` fill value that does not fit).
    pub fn new(name: &str, stored: Dtype, attrs: &Attrs, options: DecodeOptions) -> Result<Self> {
        let mut plan = Self {
            dtype: stored.numpy_name().to_owned(),
            attrs: attrs.clone(),
            encoding: Map::new(),
            coordinates: Vec::new(),
            warnings: Vec::new(),
            stored,
            to_unsigned: None,
            fills: Vec::new(),
            target: None,
            scale: None,
            offset: None,
            int_scale: None,
            time: None,
            to_bool: false,
            name: name.to_owned(),
        };
        plan.encoding
            .insert("dtype".into(), Value::from(stored.numpy_name()));
        if !options.decode_cf || stored == Dtype::Unsupported {
            plan.decode_fill_attr();
            return Ok(plan);
        }
        if let Some(Value::String(coords)) = plan.attrs.remove("coordinates") {
            plan.coordinates = coords.split_whitespace().map(str::to_owned).collect();
            plan.encoding
                .insert("coordinates".into(), Value::from(coords));
        }
        let time = plan.time_decision(options);
        let time_like = time.is_some() || plan.timedelta_like_for_masking(options);
        if options.mask_and_scale
            && !matches!(
                stored,
                Dtype::String
                    | Dtype::FixedUtf32
                    | Dtype::DateTime64 { .. }
                    | Dtype::TimeDelta64 { .. }
            )
        {
            plan.plan_mask_and_scale(time_like)?;
        }
        if let Some(t) = time {
            plan.time = Some(t);
            plan.take("units");
            plan.take("calendar");
            let decoded = match t {
                TimeDecode::Datetime { .. } => "datetime64[ns]",
                TimeDecode::Timedelta { .. } => {
                    if matches!(plan.attrs.get("dtype"), Some(Value::String(s)) if s.starts_with("timedelta64"))
                    {
                        plan.attrs.remove("dtype");
                    }
                    "timedelta64[ns]"
                }
            };
            decoded.clone_into(&mut plan.dtype);
        } else if plan.attrs.get("dtype").and_then(Value::as_str) == Some("bool")
            && !matches!(stored, Dtype::String | Dtype::FixedUtf32)
        {
            plan.take("dtype");
            plan.encoding.insert("dtype".into(), Value::from("bool"));
            plan.to_bool = true;
            "bool".clone_into(&mut plan.dtype);
        }
        plan.decode_fill_attr();
        Ok(plan)
    }

    /// A `_FillValue` left in the attributes (no masking) is still shown as a number, as xarray's Zarr
    /// backend decodes it (base64 floats included) before any CF step.
    fn decode_fill_attr(&mut self) {
        if let Some(v) = self.attrs.get("_FillValue").cloned()
            && let Some(fills) = fill::decode_attr(&v, self.stored)
            && let [single] = fills.as_slice()
        {
            let json = single.map_or(Value::from("NaN"), Fill::to_json);
            self.attrs.insert("_FillValue", json);
        }
    }

    /// Moves an attribute into `encoding`.
    fn take(&mut self, key: &str) -> Option<Value> {
        let v = self.attrs.remove(key)?;
        self.encoding.insert(key.to_owned(), v.clone());
        Some(v)
    }

    /// Decides datetime/timedelta decoding from `units`, `calendar` and `dtype` attributes.
    fn time_decision(&mut self, options: DecodeOptions) -> Option<TimeDecode> {
        // Strings and booleans have no time meaning; native numpy time types are already decoded and
        // xarray passes them through untouched.
        if matches!(
            self.stored,
            Dtype::String
                | Dtype::FixedUtf32
                | Dtype::Bool
                | Dtype::DateTime64 { .. }
                | Dtype::TimeDelta64 { .. }
        ) {
            return None;
        }
        let units = self.attrs.get("units").and_then(Value::as_str)?.to_owned();
        if options.decode_times && time::is_datetime_units(&units) {
            let calendar = self
                .attrs
                .get("calendar")
                .and_then(Value::as_str)
                .unwrap_or("standard")
                .to_owned();
            let proleptic = calendar.eq_ignore_ascii_case("proleptic_gregorian");
            match time::parse_datetime_units(&units, proleptic) {
                Ok(_) if !is_standard_calendar(&calendar) => {
                    self.warnings.push(format!(
                        "variable {:?}: calendar {calendar:?} is not supported (only standard, gregorian, \
                         proleptic_gregorian); values are left as encoded numbers",
                        self.name
                    ));
                }
                Ok(u) => {
                    return Some(TimeDecode::Datetime {
                        unit_ns: u.unit_ns,
                        reference_ns: u.reference_ns,
                        resolution_ns: u.reference_resolution_ns,
                    });
                }
                Err(e) => self.warnings.push(format!(
                    "variable {:?}: {}; values are left as encoded numbers",
                    self.name,
                    e.message()
                )),
            }
            return None;
        }
        let unit_ns = time::timedelta_unit_ns(&units)?;
        let has_dtype_attr = matches!(self.attrs.get("dtype"), Some(Value::String(s)) if s.starts_with("timedelta64"));
        let decode = match options.decode_timedelta {
            Some(true) => true,
            Some(false) => false,
            None => options.decode_times && has_dtype_attr,
        };
        decode.then_some(TimeDecode::Timedelta { unit_ns })
    }

    /// xarray's mask coder treats timedelta units as time-like whenever timedelta decoding is "on", and
    /// under the default (`decode_timedelta` unset, `decode_times` on) it is on even for variables it then
    /// leaves undecoded: their masked integers become the `NaT` bit pattern in int64, not NaN.
    fn timedelta_like_for_masking(&self, options: DecodeOptions) -> bool {
        let units = self
            .attrs
            .get("units")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let on = match options.decode_timedelta {
            Some(on) => on,
            None => options.decode_times,
        };
        on && time::timedelta_unit_ns(units).is_some()
            && !matches!(
                self.stored,
                Dtype::DateTime64 { .. } | Dtype::TimeDelta64 { .. }
            )
    }

    fn plan_mask_and_scale(&mut self, time_like: bool) -> Result<()> {
        let mut data_type = self.stored;
        // Raw fill attributes as stored (missing_value first, as xarray collects them).
        let raw_missing = self.take("missing_value");
        let raw_fill = self.take("_FillValue");
        if let Some(v) = self.take("_Unsigned") {
            let flag = v.as_str().unwrap_or_default();
            let view = match (flag, data_type) {
                ("true", Dtype::Int8 | Dtype::Int16 | Dtype::Int32 | Dtype::Int64) => Some(true),
                ("false", Dtype::UInt8 | Dtype::UInt16 | Dtype::UInt32 | Dtype::UInt64) => {
                    Some(false)
                }
                _ => None,
            };
            if let Some(unsigned) = view {
                self.to_unsigned = Some(unsigned);
                data_type = flip_sign(data_type);
            }
        }
        let mut fills = Vec::new();
        for (key, raw) in [("missing_value", &raw_missing), ("_FillValue", &raw_fill)] {
            let Some(raw) = raw else { continue };
            let decoded = fill::decode_attr(raw, self.stored).ok_or_else(|| {
                RtError::CfDecode(format!(
                    "variable {:?}: {key} {raw} is not a valid fill value",
                    self.name
                ))
            })?;
            if let [single] = decoded.as_slice() {
                self.encoding
                    .insert(key.into(), single.map_or(Value::from("NaN"), Fill::to_json));
            }
            let mut values: Vec<Fill> = decoded.into_iter().flatten().collect();
            if values.is_empty() && data_type.is_integer() {
                // A NaN fill on integers means nothing: xarray drops the attribute altogether.
                self.encoding.remove(key);
                continue;
            }
            // Only _FillValue is reinterpreted for _Unsigned (xarray leaves missing_value alone).
            if key == "_FillValue"
                && let Some(unsigned) = self.to_unsigned
            {
                values = values
                    .into_iter()
                    .map(|f| reinterpret_fill(f, self.stored, unsigned, &self.name))
                    .collect::<Result<_>>()?;
            }
            fills.extend(values);
        }
        let scale_attr = self.take("scale_factor");
        let offset_attr = self.take("add_offset");
        let packed = scale_attr.is_some() || offset_attr.is_some();
        let parse = |v: &Option<Value>, key: &str| -> Result<Option<(f64, bool)>> {
            match v {
                None | Some(Value::Null) => Ok(None),
                Some(v) => number_attr(v).map(Some).ok_or_else(|| {
                    RtError::CfDecode(format!(
                        "variable {:?}: {key} {v} is not a number",
                        self.name
                    ))
                }),
            }
        };
        let scale = parse(&scale_attr, "scale_factor")?;
        let offset = parse(&offset_attr, "add_offset")?;
        let bool_like = matches!(data_type, Dtype::Bool);
        if !fills.is_empty() && !bool_like {
            self.fills = fills;
            self.target = Some(if packed {
                Target::F64
            } else if time_like && data_type.is_integer() {
                Target::I64Nat
            } else {
                promote(data_type)
            });
        }
        if packed && !bool_like {
            // xarray's _choose_float_dtype: JSON numbers are float64 (or int64), so unpacked data is float64,
            // except an integer scale_factor alone, which keeps integer arithmetic.
            match (scale, offset) {
                (Some((s, true)), None) if self.fills.is_empty() => {
                    self.int_scale = Some(s as i64);
                    self.target = Some(Target::I64);
                }
                _ => {
                    self.scale = scale.map(|(s, _)| s);
                    self.offset = offset.map(|(o, _)| o);
                    self.target = Some(Target::F64);
                }
            }
        }
        self.dtype = match self.target {
            Some(Target::F32) => "float32".into(),
            Some(Target::F64) => "float64".into(),
            Some(Target::I64 | Target::I64Nat) => "int64".into(),
            None => data_type.numpy_name().into(),
        };
        Ok(())
    }

    /// Whether applying the plan changes anything.
    #[must_use]
    pub fn is_identity(&self) -> bool {
        self.to_unsigned.is_none() && self.target.is_none() && self.time.is_none() && !self.to_bool
    }

    /// Decodes one buffer of stored values (already widened by the chunk reader: float16 as float32,
    /// numpy time types as nanoseconds).
    ///
    /// # Errors
    /// `ERR_CF_DECODE` for times outside the nanosecond range.
    pub fn apply(&self, data: TypedData) -> Result<TypedData> {
        let mut data = data;
        if let Some(unsigned) = self.to_unsigned {
            data = flip_view(data, unsigned);
        }
        if let Some(target) = self.target {
            data = self.mask_and_cast(data, target);
        }
        if let Some(s) = self.int_scale
            && let TypedData::I64(v) = &mut data
        {
            for x in v.iter_mut() {
                *x = x.wrapping_mul(s);
            }
        }
        if (self.scale.is_some() || self.offset.is_some())
            && let TypedData::F64(v) = &mut data
        {
            // Two separately rounded steps, as numpy does them in place.
            if let Some(s) = self.scale {
                for x in v.iter_mut() {
                    *x *= s;
                }
            }
            if let Some(o) = self.offset {
                for x in v.iter_mut() {
                    *x += o;
                }
            }
        }
        if let Some(t) = self.time {
            // xarray scales timedeltas against seconds.
            let (unit_ns, reference_ns, resolution_ns) = match t {
                TimeDecode::Datetime {
                    unit_ns,
                    reference_ns,
                    resolution_ns,
                } => (unit_ns, reference_ns, resolution_ns),
                TimeDecode::Timedelta { unit_ns } => (unit_ns, 0, 1_000_000_000),
            };
            data = TypedData::I64(match data {
                TypedData::F64(v) => {
                    time::decode_floats(&v, unit_ns, resolution_ns, reference_ns, &self.name)?
                }
                TypedData::F32(v) => {
                    let wide: Vec<f64> = v.into_iter().map(f64::from).collect();
                    time::decode_floats(&wide, unit_ns, resolution_ns, reference_ns, &self.name)?
                }
                TypedData::I64(v) => time::decode_ints(&v, unit_ns, reference_ns, &self.name)?,
                TypedData::U64(v) => {
                    let ints = v
                        .into_iter()
                        .map(|x| {
                            i64::try_from(x).map_err(|_| {
                                RtError::CfDecode(format!(
                                    "variable {:?}: encoded time {x} is out of range",
                                    self.name
                                ))
                            })
                        })
                        .collect::<Result<Vec<_>>>()?;
                    time::decode_ints(&ints, unit_ns, reference_ns, &self.name)?
                }
                other => {
                    let ints = to_i64(other);
                    time::decode_ints(&ints, unit_ns, reference_ns, &self.name)?
                }
            });
        }
        if self.to_bool {
            data = TypedData::U8(match data {
                TypedData::F32(v) => v.into_iter().map(|x| u8::from(x != 0.0)).collect(),
                TypedData::F64(v) => v.into_iter().map(|x| u8::from(x != 0.0)).collect(),
                other => to_i64(other)
                    .into_iter()
                    .map(|x| u8::from(x != 0))
                    .collect(),
            });
        }
        Ok(data)
    }

    // One macro body casts every element type, so some casts are lossless and some are not.
    #[allow(clippy::cast_lossless, clippy::similar_names)]
    fn mask_and_cast(&self, data: TypedData, target: Target) -> TypedData {
        let fills_f64: Vec<f64> = self.fills.iter().map(|f| f.as_f64()).collect();
        let fills_i64: Vec<i64> = self
            .fills
            .iter()
            .map(|f| match *f {
                Fill::Int(i) => i as i64,
                Fill::Float(x) => x as i64,
            })
            .collect();
        macro_rules! cast_all {
            ($v:expr) => {
                match target {
                    // Compare after promotion, as numpy does: float fills against float-cast data.
                    Target::F32 => TypedData::F32(
                        $v.into_iter()
                            .map(|x| {
                                let f = x as f32;
                                if fills_f64.iter().any(|&m| f64::from(f) == m) {
                                    f32::NAN
                                } else {
                                    f
                                }
                            })
                            .collect(),
                    ),
                    Target::F64 => TypedData::F64(
                        $v.into_iter()
                            .map(|x| {
                                let f = x as f64;
                                if fills_f64.iter().any(|&m| f == m) {
                                    f64::NAN
                                } else {
                                    f
                                }
                            })
                            .collect(),
                    ),
                    Target::I64Nat => TypedData::I64(
                        $v.into_iter()
                            .map(|x| {
                                let i = x as i64;
                                if fills_i64.contains(&i) { time::NAT } else { i }
                            })
                            .collect(),
                    ),
                    Target::I64 => TypedData::I64($v.into_iter().map(|x| x as i64).collect()),
                }
            };
        }
        match data {
            TypedData::I8(v) => cast_all!(v),
            TypedData::I16(v) => cast_all!(v),
            TypedData::I32(v) => cast_all!(v),
            TypedData::I64(v) => cast_all!(v),
            TypedData::U8(v) => cast_all!(v),
            TypedData::U16(v) => cast_all!(v),
            TypedData::U32(v) => cast_all!(v),
            TypedData::U64(v) => cast_all!(v),
            TypedData::F32(v) => cast_all!(v),
            TypedData::F64(v) => cast_all!(v),
            s @ TypedData::Str(_) => s,
        }
    }
}

/// xarray's `maybe_promote` for masked data: small ints to float32, wide ints to float64, floats kept.
fn promote(dtype: Dtype) -> Target {
    match dtype {
        Dtype::Int8
        | Dtype::Int16
        | Dtype::UInt8
        | Dtype::UInt16
        | Dtype::Float16
        | Dtype::Float32 => Target::F32,
        _ => Target::F64,
    }
}

fn flip_sign(dtype: Dtype) -> Dtype {
    match dtype {
        Dtype::Int8 => Dtype::UInt8,
        Dtype::Int16 => Dtype::UInt16,
        Dtype::Int32 => Dtype::UInt32,
        Dtype::Int64 => Dtype::UInt64,
        Dtype::UInt8 => Dtype::Int8,
        Dtype::UInt16 => Dtype::Int16,
        Dtype::UInt32 => Dtype::Int32,
        Dtype::UInt64 => Dtype::Int64,
        other => other,
    }
}

/// Reinterprets a `_FillValue` for `_Unsigned`: a bit view into the unsigned type ("true"), or a checked
/// conversion into the signed type ("false").
fn reinterpret_fill(fill: Fill, stored: Dtype, to_unsigned: bool, name: &str) -> Result<Fill> {
    let Fill::Int(v) = fill else { return Ok(fill) };
    let bits = stored.item_size() * 8;
    if to_unsigned {
        let modulus = 1i128 << bits;
        return Ok(Fill::Int(v.rem_euclid(modulus)));
    }
    let half = 1i128 << (bits - 1);
    if v >= half || v < -half {
        return Err(RtError::CfDecode(format!(
            "variable {name:?}: _FillValue {v} does not fit the signed type that _Unsigned=\"false\" asks for"
        )));
    }
    Ok(Fill::Int(v))
}

/// Reinterprets integer bits between signed and unsigned types of the same size.
fn flip_view(data: TypedData, to_unsigned: bool) -> TypedData {
    match (data, to_unsigned) {
        (TypedData::I8(v), true) => TypedData::U8(v.into_iter().map(|x| x as u8).collect()),
        (TypedData::I16(v), true) => TypedData::U16(v.into_iter().map(|x| x as u16).collect()),
        (TypedData::I32(v), true) => TypedData::U32(v.into_iter().map(|x| x as u32).collect()),
        (TypedData::I64(v), true) => TypedData::U64(v.into_iter().map(|x| x as u64).collect()),
        (TypedData::U8(v), false) => TypedData::I8(v.into_iter().map(|x| x as i8).collect()),
        (TypedData::U16(v), false) => TypedData::I16(v.into_iter().map(|x| x as i16).collect()),
        (TypedData::U32(v), false) => TypedData::I32(v.into_iter().map(|x| x as i32).collect()),
        (TypedData::U64(v), false) => TypedData::I64(v.into_iter().map(|x| x as i64).collect()),
        (other, _) => other,
    }
}

fn to_i64(data: TypedData) -> Vec<i64> {
    match data {
        TypedData::I8(v) => v.into_iter().map(i64::from).collect(),
        TypedData::I16(v) => v.into_iter().map(i64::from).collect(),
        TypedData::I32(v) => v.into_iter().map(i64::from).collect(),
        TypedData::I64(v) => v,
        TypedData::U8(v) => v.into_iter().map(i64::from).collect(),
        TypedData::U16(v) => v.into_iter().map(i64::from).collect(),
        TypedData::U32(v) => v.into_iter().map(i64::from).collect(),
        TypedData::U64(v) => v.into_iter().map(|x| x as i64).collect(),
        TypedData::F32(v) => v.into_iter().map(|x| x as i64).collect(),
        TypedData::F64(v) => v.into_iter().map(|x| x as i64).collect(),
        TypedData::Str(v) => vec![0; v.len()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attrs(v: &serde_json::Value) -> Attrs {
        Attrs::parse(&serde_json::to_vec(v).unwrap(), "/v").unwrap()
    }

    #[test]
    fn packed_int16_unpacks_to_float64_with_mask() {
        let a = attrs(
            &json!({"scale_factor": 0.5, "add_offset": -33.0, "_FillValue": -32768, "units": "dBZ"}),
        );
        let plan = VariablePlan::new("DBZH", Dtype::Int16, &a, DecodeOptions::default()).unwrap();
        assert_eq!(plan.dtype, "float64");
        assert_eq!(
            plan.attrs.to_map(),
            attrs(&json!({"units": "dBZ"})).to_map()
        );
        let TypedData::F64(out) = plan.apply(TypedData::I16(vec![0, 2, -32768])).unwrap() else {
            panic!()
        };
        assert_eq!(out[..2], [-33.0, -32.0]);
        assert!(out[2].is_nan());
    }

    #[test]
    fn masking_promotes_like_xarray() {
        let a = attrs(&json!({"_FillValue": -1}));
        let plan = VariablePlan::new("x", Dtype::Int16, &a, DecodeOptions::default()).unwrap();
        assert_eq!(plan.dtype, "float32");
        let plan = VariablePlan::new("x", Dtype::Int32, &a, DecodeOptions::default()).unwrap();
        assert_eq!(plan.dtype, "float64");
        let nan_on_float = attrs(&json!({"_FillValue": "AAAAAAAA+H8="}));
        let plan = VariablePlan::new("x", Dtype::Float32, &nan_on_float, DecodeOptions::default())
            .unwrap();
        assert_eq!(plan.dtype, "float32");
        assert!(plan.is_identity());
        assert_eq!(plan.encoding.get("_FillValue"), Some(&json!("NaN")));
    }

    #[test]
    fn unsigned_reinterprets_data_and_fill() {
        let a = attrs(&json!({"_Unsigned": "true", "_FillValue": -1}));
        let plan = VariablePlan::new("x", Dtype::Int16, &a, DecodeOptions::default()).unwrap();
        assert_eq!(plan.dtype, "float32");
        let TypedData::F32(out) = plan.apply(TypedData::I16(vec![-2, -1, 3])).unwrap() else {
            panic!()
        };
        assert_eq!(out[0], 65534.0);
        assert!(out[1].is_nan());
        assert_eq!(out[2], 3.0);
    }

    #[test]
    fn datetimes_decode_from_metadata_alone() {
        let a =
            attrs(&json!({"units": "days since 1970-01-01", "calendar": "proleptic_gregorian"}));
        let plan = VariablePlan::new("t", Dtype::Int64, &a, DecodeOptions::default()).unwrap();
        assert_eq!(plan.dtype, "datetime64[ns]");
        assert_eq!(
            plan.apply(TypedData::I64(vec![1])).unwrap(),
            TypedData::I64(vec![86_400_000_000_000])
        );
        let noleap = attrs(&json!({"units": "days since 1970-01-01", "calendar": "noleap"}));
        let plan = VariablePlan::new("t", Dtype::Int64, &noleap, DecodeOptions::default()).unwrap();
        assert_eq!(plan.dtype, "int64");
        assert_eq!(plan.warnings.len(), 1);
        assert_eq!(plan.attrs.get("calendar"), Some(&json!("noleap")));
    }

    #[test]
    fn timedeltas_need_the_dtype_attribute_by_default() {
        let units_only = attrs(&json!({"units": "seconds"}));
        let plan =
            VariablePlan::new("d", Dtype::Int64, &units_only, DecodeOptions::default()).unwrap();
        assert_eq!(plan.dtype, "int64");
        let opts = DecodeOptions {
            decode_timedelta: Some(true),
            ..DecodeOptions::default()
        };
        let plan = VariablePlan::new("d", Dtype::Int64, &units_only, opts).unwrap();
        assert_eq!(plan.dtype, "timedelta64[ns]");
        let with_dtype = attrs(&json!({"units": "seconds", "dtype": "timedelta64[ns]"}));
        let plan =
            VariablePlan::new("d", Dtype::Int64, &with_dtype, DecodeOptions::default()).unwrap();
        assert_eq!(plan.dtype, "timedelta64[ns]");
        assert!(plan.attrs.is_empty());
    }

    #[test]
    fn raw_mode_keeps_everything_but_decodes_base64_fill() {
        let a = attrs(&json!({"_FillValue": "AAAAAICHw8A=", "scale_factor": 2.0}));
        let opts = DecodeOptions {
            decode_cf: false,
            ..DecodeOptions::default()
        };
        let plan = VariablePlan::new("x", Dtype::Float32, &a, opts).unwrap();
        assert!(plan.is_identity());
        assert_eq!(plan.attrs.get("_FillValue"), Some(&json!(-9999.0)));
        assert_eq!(plan.attrs.get("scale_factor"), Some(&json!(2.0)));
    }
}
