// placeholder until the target's first sources land
