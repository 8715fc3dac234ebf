"""People: named users with a role (owner, editor, viewer), their passwords and their web
sessions; who a page request is signed in as."""
