"""Coverage reports (覆盖率): where each street and sector stands against the plans' targets."""
