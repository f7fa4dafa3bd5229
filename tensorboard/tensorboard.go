// Package tensorboard writes scalars as TensorBoard event files, so that a
// run can be watched in TensorBoard as well as in descent serve, and reads
// them back.
//
// An event file (events.out.tfevents.<seconds>.<host>) is a sequence of
// TFRecords, each
//
//	length          uint64, little-endian
//	masked CRC-32C  of length (uint32)
//	data            an Event protocol buffer, length bytes
//	masked CRC-32C  of data (uint32)
//
// where the mask of a CRC c is ((c >> 15) | (c << 17)) + 0xa282ead8. The
// first event holds the file version ("brain.Event:2"); each later one a
// wall time, a step and a Summary of scalar values, each a tag and a
// float32. Only the fields descent writes are encoded and decoded: Event
// {wall_time = 1 (double), step = 2 (int64), file_version = 3 (string),
// summary = 5}, Summary {value = 1}, Summary.Value {tag = 1 (string),
// simple_value = 2 (float)}. The format is TensorFlow's
// (tensorflow/core/util/event.proto and core/lib/io/record_writer.cc).
package tensorboard

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// FileVersion is what the first event of a file says.
const FileVersion = "brain.Event:2"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// maskedCRC returns the masked CRC-32C of b.
func maskedCRC(b []byte) uint32 {
	c := crc32.Checksum(b, castagnoli)
	return (c>>15 | c<<17) + 0xa282ead8
}

// Writer writes events to one event file.
type Writer struct {
	f   *os.File
	buf []byte
}

// Create creates a new event file in dir, named as TensorBoard looks for
// it (events.out.tfevents.<seconds>.<host>, then .1, .2, … if a file of
// the same second exists), and writes its first event at time now.
func Create(dir string, now time.Time) (*Writer, error) {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	base := filepath.Join(dir, "events.out.tfevents."+strconv.FormatInt(now.Unix(), 10)+"."+host)
	name := base
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	// A file of the same second exists (a run resumed within the second it
	// stopped): a counter after the host, as tensorboardX names its files,
	// which TensorBoard reads too.
	for n := 1; errors.Is(err, os.ErrExist) && n < 1000; n++ {
		name = base + "." + strconv.Itoa(n)
		f, err = os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	}
	if err != nil {
		return nil, fmt.Errorf("tensorboard: %w", err)
	}
	w := &Writer{f: f}
	if err := w.write(Event{WallTime: wallTime(now), FileVersion: FileVersion}); err != nil {
		f.Close()
		os.Remove(name)
		return nil, err
	}
	return w, nil
}

// Name returns the path of the event file.
func (w *Writer) Name() string { return w.f.Name() }

func wallTime(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// Scalar is one tagged value.
type Scalar struct {
	Tag   string
	Value float32
}

// Scalars writes one event holding scalars at step and time t.
func (w *Writer) Scalars(step int64, t time.Time, scalars ...Scalar) error {
	return w.write(Event{WallTime: wallTime(t), Step: step, Scalars: scalars})
}

// Close closes the file.
func (w *Writer) Close() error { return w.f.Close() }

// write writes e as one record, in one write.
func (w *Writer) write(e Event) error {
	data := e.marshal()
	b := w.buf[:0]
	b = binary.LittleEndian.AppendUint64(b, uint64(len(data)))
	b = binary.LittleEndian.AppendUint32(b, maskedCRC(b[:8]))
	b = append(b, data...)
	b = binary.LittleEndian.AppendUint32(b, maskedCRC(data))
	w.buf = b
	if _, err := w.f.Write(b); err != nil {
		return fmt.Errorf("tensorboard: %w", err)
	}
	return nil
}

// Event is an event of a file: the file version (the first event) or
// scalars at a step.
type Event struct {
	WallTime    float64 // seconds since 1970
	Step        int64
	FileVersion string
	Scalars     []Scalar
}

// Protocol buffer wire types.
const (
	wireVarint = 0
	wire64     = 1
	wireBytes  = 2
	wire32     = 5
)

func appendTag(b []byte, field, wire int) []byte {
	return binary.AppendUvarint(b, uint64(field<<3|wire))
}

func appendBytes(b []byte, field int, v []byte) []byte {
	b = appendTag(b, field, wireBytes)
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

func (e Event) marshal() []byte {
	b := appendTag(nil, 1, wire64)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(e.WallTime))
	if e.Step != 0 {
		b = appendTag(b, 2, wireVarint)
		b = binary.AppendUvarint(b, uint64(e.Step))
	}
	if e.FileVersion != "" {
		b = appendBytes(b, 3, []byte(e.FileVersion))
	}
	if len(e.Scalars) > 0 {
		var sum []byte
		for _, s := range e.Scalars {
			v := appendBytes(nil, 1, []byte(s.Tag))
			v = appendTag(v, 2, wire32)
			v = binary.LittleEndian.AppendUint32(v, math.Float32bits(s.Value))
			sum = appendBytes(sum, 1, v)
		}
		b = appendBytes(b, 5, sum)
	}
	return b
}

// ErrCorrupt is wrapped by the errors of Read for a record whose CRC does
// not match, or that is cut short or malformed.
var ErrCorrupt = errors.New("corrupt event file")

// Read reads every event of an event file, checking each record's CRCs.
func Read(r io.Reader) ([]Event, error) {
	br := bufio.NewReader(r)
	var events []Event
	var off int64
	for {
		var head [12]byte
		if _, err := io.ReadFull(br, head[:]); err == io.EOF {
			return events, nil
		} else if err != nil {
			return events, fmt.Errorf("tensorboard: record at byte %d: %w: %v", off, ErrCorrupt, err)
		}
		if maskedCRC(head[:8]) != binary.LittleEndian.Uint32(head[8:]) {
			return events, fmt.Errorf("tensorboard: record at byte %d: %w: the CRC of its length does not match", off, ErrCorrupt)
		}
		n := binary.LittleEndian.Uint64(head[:8])
		if n > 1<<26 {
			return events, fmt.Errorf("tensorboard: record at byte %d: %w: length %d", off, ErrCorrupt, n)
		}
		data := make([]byte, n+4)
		if _, err := io.ReadFull(br, data); err != nil {
			return events, fmt.Errorf("tensorboard: record at byte %d: %w: %v", off, ErrCorrupt, err)
		}
		if maskedCRC(data[:n]) != binary.LittleEndian.Uint32(data[n:]) {
			return events, fmt.Errorf("tensorboard: record at byte %d: %w: the CRC of its data does not match", off, ErrCorrupt)
		}
		e, err := unmarshalEvent(data[:n])
		if err != nil {
			return events, fmt.Errorf("tensorboard: record at byte %d: %w: %v", off, ErrCorrupt, err)
		}
		events = append(events, e)
		off += 12 + int64(n) + 4
	}
}

// fields calls f with each field of the protocol buffer message b: its
// number, wire type, and value (varint or fixed) or bytes.
func fields(b []byte, f func(field, wire int, v uint64, bytes []byte) error) error {
	for len(b) > 0 {
		key, n := binary.Uvarint(b)
		if n <= 0 {
			return errors.New("bad field key")
		}
		b = b[n:]
		field, wire := int(key>>3), int(key&7)
		var v uint64
		var bs []byte
		switch wire {
		case wireVarint:
			if v, n = binary.Uvarint(b); n <= 0 {
				return errors.New("bad varint")
			}
			b = b[n:]
		case wire64:
			if len(b) < 8 {
				return errors.New("short fixed64")
			}
			v, b = binary.LittleEndian.Uint64(b), b[8:]
		case wire32:
			if len(b) < 4 {
				return errors.New("short fixed32")
			}
			v, b = uint64(binary.LittleEndian.Uint32(b)), b[4:]
		case wireBytes:
			l, n := binary.Uvarint(b)
			if n <= 0 || l > uint64(len(b)-n) {
				return errors.New("bad length")
			}
			bs, b = b[n:n+int(l)], b[n+int(l):]
		default:
			return fmt.Errorf("wire type %d", wire)
		}
		if err := f(field, wire, v, bs); err != nil {
			return err
		}
	}
	return nil
}

func unmarshalEvent(b []byte) (Event, error) {
	var e Event
	err := fields(b, func(field, wire int, v uint64, bs []byte) error {
		switch {
		case field == 1 && wire == wire64:
			e.WallTime = math.Float64frombits(v)
		case field == 2 && wire == wireVarint:
			e.Step = int64(v)
		case field == 3 && wire == wireBytes:
			e.FileVersion = string(bs)
		case field == 5 && wire == wireBytes:
			return fields(bs, func(field, wire int, _ uint64, val []byte) error {
				if field != 1 || wire != wireBytes {
					return nil
				}
				var s Scalar
				err := fields(val, func(field, wire int, v uint64, bs []byte) error {
					switch {
					case field == 1 && wire == wireBytes:
						s.Tag = string(bs)
					case field == 2 && wire == wire32:
						s.Value = math.Float32frombits(uint32(v))
					}
					return nil
				})
				e.Scalars = append(e.Scalars, s)
				return err
			})
		}
		return nil
	})
	return e, err
}
