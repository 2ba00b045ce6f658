//! [`Tensor`]: an f32 activation tensor, row-major, whose storage is an enum over devices.
//!
//! Weights are not `Tensor`s: they are [`crate::QMatrix`] (quantized, read-only). Activations are
//! f32 on the CPU; a CUDA variant of [`Storage`] joins the CPU one without changing the callers.

use crate::{Error, Result};

/// Where a tensor's elements live.
#[derive(Debug, Clone)]
pub enum Storage {
    /// Host memory, row-major.
    Cpu(Vec<f32>),
}

/// An f32 tensor with a row-major shape.
#[derive(Debug, Clone)]
pub struct Tensor {
    shape: Vec<usize>,
    storage: Storage,
}

impl Tensor {
    /// A CPU tensor of zeros.
    pub fn zeros(shape: &[usize]) -> Self {
        let n = shape.iter().product();
        Self {
            shape: shape.to_vec(),
            storage: Storage::Cpu(vec![0.0; n]),
        }
    }

    /// A CPU tensor over `data`, which must hold exactly `shape.product()` elements.
    pub fn from_vec(shape: &[usize], data: Vec<f32>) -> Result<Self> {
        let n: usize = shape.iter().product();
        if n != data.len() {
            return Err(Error::Shape(format!(
                "{} elements for shape {shape:?}",
                data.len()
            )));
        }
        Ok(Self {
            shape: shape.to_vec(),
            storage: Storage::Cpu(data),
        })
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// True when the tensor holds no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The shape as (rows, cols) where cols is the last dimension.
    pub fn dims2(&self) -> (usize, usize) {
        let cols = self.shape.last().copied().unwrap_or(1);
        (self.len().checked_div(cols).unwrap_or(0), cols)
    }

    /// Host elements.
    pub fn as_slice(&self) -> Result<&[f32]> {
        match &self.storage {
            Storage::Cpu(v) => Ok(v),
        }
    }

    /// Host elements, mutable.
    pub fn as_mut_slice(&mut self) -> Result<&mut [f32]> {
        match &mut self.storage {
            Storage::Cpu(v) => Ok(v),
        }
    }

    /// The host elements, consuming the tensor.
    pub fn into_vec(self) -> Result<Vec<f32>> {
        match self.storage {
            Storage::Cpu(v) => Ok(v),
        }
    }

    /// Same elements, another shape of the same size.
    pub fn reshape(mut self, shape: &[usize]) -> Result<Self> {
        if shape.iter().product::<usize>() != self.len() {
            return Err(Error::Shape(format!(
                "cannot reshape {:?} to {shape:?}",
                self.shape
            )));
        }
        self.shape = shape.to_vec();
        Ok(self)
    }

    /// Row `i` of a 2-D view (last dimension = columns).
    pub fn row(&self, i: usize) -> Result<&[f32]> {
        let (rows, cols) = self.dims2();
        if i >= rows {
            return Err(Error::Shape(format!("row {i} of {rows}")));
        }
        Ok(&self.as_slice()?[i * cols..(i + 1) * cols])
    }
}
