import SMCommands

// `sm`: the admin CLI, or the SMAPIv1 plugin when run as `<Type>SR` (EXTSR, …).
SMEntryPoint.main()
