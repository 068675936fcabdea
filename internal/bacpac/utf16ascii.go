package bacpac

import (
	"encoding/binary"
	"unicode/utf8"
	"unsafe"
)

// BCP text is UTF-16LE and most of it is ASCII, where each code unit is
// the byte followed by a zero. The two loops below convert such runs eight
// characters at a time with plain 64-bit arithmetic instead of one byte at
// a time; text columns are most of the bytes of a typical package, and
// these loops were the largest single cost of encoding and decoding rows.

const (
	asciiMask8  = 0x8080808080808080 // any byte ≥ 0x80 in 8 bytes
	asciiMask16 = 0xff80ff80ff80ff80 // any code unit ≥ 0x80 in 4 units
)

// widenASCII writes the leading ASCII bytes of s to dst as UTF-16LE and
// returns how many bytes of s it converted; dst has room for 2*len(s).
func widenASCII(dst []byte, s string) int {
	src := unsafe.Slice(unsafe.StringData(s), len(s)) // read only
	i := 0
	for ; i+8 <= len(src); i += 8 {
		w := binary.LittleEndian.Uint64(src[i:])
		if w&asciiMask8 != 0 {
			break
		}
		binary.LittleEndian.PutUint64(dst[2*i:], spreadBytes(w&0xffffffff))
		binary.LittleEndian.PutUint64(dst[2*i+8:], spreadBytes(w>>32))
	}
	for ; i < len(src) && src[i] < utf8.RuneSelf; i++ {
		dst[2*i], dst[2*i+1] = src[i], 0
	}
	return i
}

// spreadBytes turns the 4 low bytes of x into 4 little-endian 16-bit units.
func spreadBytes(x uint64) uint64 {
	x = (x | x<<16) & 0x0000ffff0000ffff
	return (x | x<<8) & 0x00ff00ff00ff00ff
}

// narrowASCII writes the leading ASCII code units of the UTF-16LE text b to
// dst as bytes and returns how many code units it converted; dst has room
// for len(b)/2 bytes.
func narrowASCII(dst, b []byte) int {
	n := len(b) / 2
	i := 0
	for ; i+8 <= n; i += 8 {
		w1 := binary.LittleEndian.Uint64(b[2*i:])
		w2 := binary.LittleEndian.Uint64(b[2*i+8:])
		if (w1|w2)&asciiMask16 != 0 {
			break
		}
		binary.LittleEndian.PutUint64(dst[i:], packUnits(w1)|packUnits(w2)<<32)
	}
	for ; i < n && b[2*i+1] == 0 && b[2*i] < utf8.RuneSelf; i++ {
		dst[i] = b[2*i]
	}
	return i
}

// packUnits turns 4 little-endian 16-bit units below 0x100 into 4 bytes.
func packUnits(w uint64) uint64 {
	w = (w | w>>8) & 0x0000ffff0000ffff
	return (w | w>>16) & 0xffffffff
}

// padBlanks fills dst, of even length, with UTF-16LE blanks.
func padBlanks(dst []byte) {
	const blanks = 0x0020002000200020
	k := 0
	for ; k+8 <= len(dst); k += 8 {
		binary.LittleEndian.PutUint64(dst[k:], blanks)
	}
	for ; k < len(dst); k += 2 {
		dst[k], dst[k+1] = ' ', 0
	}
}
