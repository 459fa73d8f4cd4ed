import Datapath
import DatapathBackend
import Foundation
import SMDrivers

// `sm-datapathd`: the NBD datapath daemon (see `DatapathCommand`); `--sr` opens the SR through
// the same drivers `sm` serves.
exit(
    DatapathCommand.main(Array(CommandLine.arguments.dropFirst())) { (path) throws(DatapathError) in
        try ContainerExportSource.forSR(descriptorPath: path, drivers: SMDrivers.all())
    })
