print("sm: not yet")
