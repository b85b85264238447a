import ArgumentParser
import Tensor

extension Precision: ExpressibleByArgument {}
