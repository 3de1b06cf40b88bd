"""One pulumi.ComponentResource per layer; see DESIGN.md."""
