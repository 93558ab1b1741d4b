package config

import (
	"fmt"
	"reflect"
	"strings"
	"time"
)

// keyDelim separates the levels of a lower-cased key path, as `:` does in
// .NET configuration. A dot cannot be the separator because .NET files contain
// keys such as `Logging:LogLevel:Microsoft.AspNetCore`.
const keyDelim = ":"

type fieldKind int

const (
	kindStruct fieldKind = iota
	kindSlice
	kindString
	kindBool
	kindInt
	kindUint
	kindFloat
	kindDuration
)

// schemaField describes one node of the Settings tree, so that configuration
// keys can be matched, converted and named in their .NET spelling without
// reflecting over Settings on every key.
type schemaField struct {
	goName string
	kind   fieldKind
	typ    reflect.Type
	// secret is the value of the `secret` struct tag: "true" or "dsn".
	secret string
	// children maps lower-cased koanf tags to struct fields.
	children map[string]*schemaField
	// elem describes the elements of a slice.
	elem *schemaField
}

func (f *schemaField) isLeaf() bool {
	return f.kind != kindStruct && f.kind != kindSlice
}

var durationType = reflect.TypeFor[time.Duration]()

// settingsSchema is built once from the Settings struct tags. Building it
// panics on a field type that Load cannot convert, which the package tests
// catch as soon as such a field is added.
var settingsSchema = buildSchema("", reflect.TypeFor[Settings](), "")

func buildSchema(goName string, typ reflect.Type, secret string) *schemaField {
	f := &schemaField{goName: goName, typ: typ, secret: secret}

	switch {
	case typ == durationType:
		f.kind = kindDuration
	case typ.Kind() == reflect.Struct:
		f.kind = kindStruct
		f.children = make(map[string]*schemaField)
		for i := range typ.NumField() {
			sf := typ.Field(i)
			tag := strings.ToLower(sf.Tag.Get("koanf"))
			if !sf.IsExported() || tag == "" || tag == "-" {
				continue
			}
			f.children[tag] = buildSchema(sf.Name, sf.Type, sf.Tag.Get("secret"))
		}
	case typ.Kind() == reflect.Slice:
		f.kind = kindSlice
		f.elem = buildSchema("", typ.Elem(), secret)
	case typ.Kind() == reflect.String:
		f.kind = kindString
	case typ.Kind() == reflect.Bool:
		f.kind = kindBool
	case typ.Kind() >= reflect.Int && typ.Kind() <= reflect.Int64:
		f.kind = kindInt
	case typ.Kind() >= reflect.Uint && typ.Kind() <= reflect.Uint64:
		f.kind = kindUint
	case typ.Kind() == reflect.Float32 || typ.Kind() == reflect.Float64:
		f.kind = kindFloat
	default:
		panic(fmt.Sprintf("config: settings field %s has type %s, which Load cannot convert; use a string, bool, number, time.Duration, struct or slice", goName, typ))
	}

	return f
}

// lookupKey returns the leaf field of a lower-cased key path such as
// `clientseed:clients:0:secret` and the same path in .NET spelling
// (`ClientSeed:Clients:0:Secret`). It returns nil for paths that do not end at
// a leaf of Settings. Slice indexes may be any non-empty text, as in .NET.
func lookupKey(key string) (*schemaField, string) {
	cur := settingsSchema
	parts := strings.Split(key, keyDelim)
	names := make([]string, 0, len(parts))

	for _, part := range parts {
		switch cur.kind {
		case kindStruct:
			child, ok := cur.children[part]
			if !ok {
				return nil, ""
			}
			names = append(names, child.goName)
			cur = child
		case kindSlice:
			if part == "" {
				return nil, ""
			}
			names = append(names, part)
			cur = cur.elem
		default:
			return nil, ""
		}
	}

	if !cur.isLeaf() {
		return nil, ""
	}
	return cur, strings.Join(names, keyDelim)
}

// dotnetKey returns the .NET spelling of a lower-cased key path, or the path
// itself when it is not a Settings leaf.
func dotnetKey(key string) string {
	if _, name := lookupKey(key); name != "" {
		return name
	}
	return key
}

// envVarName returns the environment variable that sets a .NET key.
func envVarName(dotnetKey string) string {
	return strings.ReplaceAll(dotnetKey, keyDelim, "__")
}
