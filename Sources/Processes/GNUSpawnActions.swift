import Glibc

/// glibc's GNU spawn file actions (2.29 / 2.34), declared under `__USE_GNU` in `spawn.h` and so
/// not imported into Swift: looked up once with `dlsym`; nil on a libc without them.
enum GNUSpawnActions {
    typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    typealias ChangeDirectory =
        @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32

    /// `posix_spawn_file_actions_addclosefrom_np`: close every descriptor from a number up.
    static let closeFrom: CloseFrom? = symbol("posix_spawn_file_actions_addclosefrom_np")
    /// `posix_spawn_file_actions_addchdir_np`: change directory in the child.
    static let changeDirectory: ChangeDirectory? = symbol("posix_spawn_file_actions_addchdir_np")

    /// The function `name` in the already loaded libc. The corresponding C function is `dlsym`.
    private static func symbol<T>(_ name: String) -> T? {
        // RTLD_DEFAULT is ((void *) 0) in glibc's dlfcn.h.
        guard let address = dlsym(nil, name) else { return nil }
        return unsafeBitCast(address, to: T.self)
    }
}
