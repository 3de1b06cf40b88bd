"""Image pins: resolve tags to digests through registries' HTTP API and keep them in config/images.lock.json."""
