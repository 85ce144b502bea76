"""The post-event report: every figure with its definition and its source, reproducible from the
store and the posts dataset (see `build.build_report`)."""
