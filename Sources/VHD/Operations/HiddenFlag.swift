import BlockIO
import VHDFormat

/// Setting blktap's hidden flag without opening the whole image (no BAT read): the footer is
/// read as `Image.open` would and rewritten at the end and, for sparse disks, at offset 0.
public enum HiddenFlag {
    public static func set(_ hidden: Bool, store: any BlockStore, name: String) throws(VHDError) {
        var (footer, source) = try Image.readFooter(store: store, name: name)
        guard case .primary(let offset) = source else {
            throw .invalid(image: name, problem: "primary footer missing: repair the image before changing it")
        }
        footer.hidden = hidden ? 1 : 0
        let bytes = footer.encoded()
        try VHDError.wrap { () throws(BlockIOError) in
            try store.write(bytes, at: offset)
            if footer.diskType?.isSparse == true { try store.write(bytes, at: 0) }
            try store.flush()
        }
    }
}
