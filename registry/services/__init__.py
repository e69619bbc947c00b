"""Registry writes. Import from the submodules: `registry.services.uploads`, `.manifests`,
`.repositories`."""
