// The shared numerics (error measures, tolerances) come with the IQA fixtures.
@_exported import TensorTestSupport
