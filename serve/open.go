package serve

import (
	"errors"
	"io/fs"
	"os"
)

// dirFS is a served directory as the server reads it: the fs.FS of an
// os.Root, which keeps every path inside the directory, that opens only
// regular files and directories. Anything else — a FIFO, a device, a
// socket, a symbolic link — is refused before it is opened, and again
// after, in case it was swapped in between: a FIFO opened to read waits
// for a writer, and the request with it. The open itself is non-blocking
// (O_NONBLOCK, where there is one), so that even a FIFO swapped in cannot
// hold it; reads of regular files and directories do not heed the flag.
type dirFS struct{ r *os.Root }

var (
	_ fs.FS     = (*dirFS)(nil)
	_ fs.StatFS = (*dirFS)(nil)
)

// errNotFile is the error of a path that is neither a regular file nor a
// directory.
var errNotFile = errors.New("not a regular file or a directory")

// Open opens name, a regular file or a directory, to read.
func (d *dirFS) Open(name string) (fs.File, error) {
	f, err := d.open(name)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Stat describes name, a regular file or a directory, without opening it.
func (d *dirFS) Stat(name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrInvalid}
	}
	info, err := d.r.Lstat(name)
	if err != nil {
		return nil, err
	}
	if !readable(info) {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: errNotFile}
	}
	return info, nil
}

func (d *dirFS) open(name string) (*os.File, error) {
	if _, err := d.Stat(name); err != nil {
		return nil, err
	}
	f, err := d.r.OpenFile(name, os.O_RDONLY|nonBlock, 0)
	if err != nil {
		return nil, err
	}
	if info, err := f.Stat(); err != nil || !readable(info) {
		f.Close()
		if err == nil {
			err = &fs.PathError{Op: "open", Path: name, Err: errNotFile}
		}
		return nil, err
	}
	return f, nil
}

func readable(info fs.FileInfo) bool { return info.Mode().IsRegular() || info.IsDir() }
