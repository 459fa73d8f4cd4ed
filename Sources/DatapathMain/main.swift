import Datapath
import Foundation

// `sm-datapathd`: the NBD datapath daemon (see `DatapathCommand`).
exit(DatapathCommand.main(Array(CommandLine.arguments.dropFirst())))
