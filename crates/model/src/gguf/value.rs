//! GGUF metadata values.

/// A metadata value as stored in a GGUF file.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Any unsigned integer type, widened.
    U64(u64),
    /// Any signed integer type, widened.
    I64(i64),
    /// f32 or f64, widened.
    F64(f64),
    /// A boolean.
    Bool(bool),
    /// A UTF-8 string (invalid bytes replaced).
    Str(String),
    /// An array of values.
    Array(Vec<Value>),
}

impl Value {
    /// As an unsigned integer (non-negative signed values too).
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Self::U64(v) => Some(*v),
            Self::I64(v) => u64::try_from(*v).ok(),
            Self::Bool(_) | Self::F64(_) | Self::Str(_) | Self::Array(_) => None,
        }
    }

    /// As a signed integer.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Self::U64(v) => i64::try_from(*v).ok(),
            Self::I64(v) => Some(*v),
            Self::Bool(_) | Self::F64(_) | Self::Str(_) | Self::Array(_) => None,
        }
    }

    /// As a float (integers convert).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::F64(v) => Some(*v),
            Self::U64(v) => Some(*v as f64),
            Self::I64(v) => Some(*v as f64),
            Self::Bool(_) | Self::Str(_) | Self::Array(_) => None,
        }
    }

    /// As a boolean.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Self::Bool(b) => Some(*b),
            Self::U64(_) | Self::I64(_) | Self::F64(_) | Self::Str(_) | Self::Array(_) => None,
        }
    }

    /// As a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            Self::U64(_) | Self::I64(_) | Self::F64(_) | Self::Bool(_) | Self::Array(_) => None,
        }
    }

    /// As an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Self::Array(a) => Some(a),
            Self::U64(_) | Self::I64(_) | Self::F64(_) | Self::Bool(_) | Self::Str(_) => None,
        }
    }
}
