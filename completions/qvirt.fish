complete --keep-order --exclusive --command qvirt --arguments "(COMPLETE=fish qvirt -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
