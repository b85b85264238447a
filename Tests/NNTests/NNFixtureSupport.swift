import Foundation
import TensorTestSupport

extension NNFixture {
    /// A fixture from this test target's `Fixtures` folder.
    init(_ file: String) throws { try self.init(file, in: fixturesFolder(of: .module)) }
}
