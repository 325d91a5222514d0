ansible_user: fromhostfile
