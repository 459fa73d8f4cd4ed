import BlockIO
import VHDFormat

/// Reading a differencing disk's parent reference from its locators.
public enum ParentLocation {
    /// The parent path the locators hold, tried in slot order as blktap does (MacX, W2ku,
    /// W2ru decoded; others skipped), falling back to the header's parent name.
    public static func reference(of image: Image) throws(VHDError) -> String {
        guard let header = image.header else {
            throw .invalid(image: image.name, problem: "not a differencing disk")
        }
        for (_, locator) in header.usedLocators {
            guard let data = try locatorData(locator, of: image), let path = locator.decodePath(data), !path.isEmpty
            else { continue }
            return path
        }
        let name = header.parentName
        guard !name.isEmpty else {
            throw .invalid(image: image.name, problem: "differencing disk has no parent locator and no parent name")
        }
        return name.split(separator: "\\").last.map(String.init) ?? name
    }

    /// The raw bytes of a locator's data, nil when they lie outside the file.
    public static func locatorData(_ locator: ParentLocator, of image: Image) throws(VHDError) -> [UInt8]? {
        let length = UInt64(locator.dataLength)
        guard length > 0, length <= 65536, locator.dataOffset < image.store.size,
            image.store.size - locator.dataOffset >= length
        else { return nil }
        return try VHDError.wrap { () throws(BlockIOError) in
            try image.store.read(count: Int(length), at: locator.dataOffset)
        }
    }
}
