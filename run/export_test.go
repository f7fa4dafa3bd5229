package run

// ResultFiles maps each file by which a directory is known to hold a
// command's results to the name of that command.
var ResultFiles = func() map[string]string {
	m := map[string]string{}
	for _, r := range results {
		m[r.file] = r.command
	}
	return m
}()
