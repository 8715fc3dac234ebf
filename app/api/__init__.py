"""HTTP plumbing shared by every router: dependencies, authentication, error responses."""
