package bacpac

import (
	"errors"
	"testing"
	"time"
)

func TestVariant_Value(t *testing.T) {
	cases := []struct {
		name string
		v    Variant
		want any
	}{
		{"int", Variant{0x38, 0, 1, 0, 0, 0}, int64(1)},
		{"bigint", Variant{0x7f, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, int64(-1)},
		{"bit", Variant{0x32, 0, 1}, true},
		{"nvarchar", Variant{0xe7, 7, 9, 4, 0xd0, 0, 0x34, 8, 0, 'h', 0, 0xe9, 0}, "hé"},
		{"varchar cp1252", Variant{0xa7, 7, 9, 4, 0xd0, 0, 0x34, 2, 0, 0x80, 'x'}, "€x"},
		{"varbinary", Variant{0xa5, 2, 8, 0, 1, 2}, []byte{1, 2}},
		{"decimal", Variant{0x6a, 2, 5, 2, 0, 0x39, 0x30, 0, 0}, "-123.45"},
		{"date", Variant{0x28, 0, 0x6e, 0x28, 0x0b}, Date{2003, 2, 1}},
		{"datetime2(2)", Variant{0x2a, 1, 2, 0xe8, 0x03, 0x00, 0x6e, 0x28, 0x0b},
			time.Date(2003, 2, 1, 0, 0, 10, 0, time.UTC)},
		{"time(7)", Variant{0x29, 1, 7, 0x80, 0x96, 0x98, 0, 0}, TimeOfDay(time.Second)},
	}
	for _, c := range cases {
		got, err := c.v.Value()
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if d, ok := got.(Decimal); ok {
			got = d.String()
		}
		if tt, ok := got.(time.Time); ok && tt.Equal(c.want.(time.Time)) {
			continue
		}
		if b, ok := got.([]byte); ok {
			got = string(b)
			c.want = string(c.want.([]byte))
		}
		if got != c.want {
			t.Errorf("%s: got %#v, want %#v", c.name, got, c.want)
		}
	}
	for name, v := range map[string]Variant{
		"empty": {}, "short props": {0xa7, 7, 1}, "short int": {0x38, 0, 1},
	} {
		if _, err := v.Value(); !errors.Is(err, ErrBadValue) {
			t.Errorf("%s: %v, want ErrBadValue", name, err)
		}
	}
	if _, err := (Variant{0xf1, 0}).Value(); !errors.Is(err, ErrVariant) {
		t.Errorf("unknown base type: %v, want ErrVariant", err)
	}
}
