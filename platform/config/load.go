package config

import (
	"bytes"
	stdjson "encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/knadh/koanf/parsers/json"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"
)

// LoadOptions selects the configuration sources that Load reads besides the
// built-in defaults.
type LoadOptions struct {
	// ConfigDir is the folder that contains appsettings.json and
	// appsettings.{Environment}.json. Empty means DATAFLOW_CONFIG_DIR, else
	// ./config when it contains appsettings.json, else the working directory.
	// A folder given here or in DATAFLOW_CONFIG_DIR must exist.
	ConfigDir string

	// Environ is the process environment as NAME=value entries. Nil means
	// os.Environ(). When a name occurs twice, the later entry wins.
	Environ []string

	// Overrides are the --set Key=Value pairs. Keys use `:` between levels, as
	// in ImportBatch:ChunkSize, and are case-insensitive. Overrides win over
	// every other source, and an unknown key is an error.
	Overrides map[string]string
}

const (
	envConfigDir       = "DATAFLOW_CONFIG_DIR"
	defaultEnvironment = "Production"
	sourceDefault      = "built-in default"
)

// environmentVariables lists, highest priority first, the variables that
// name the environment. DOTNET_ENVIRONMENT and ASPNETCORE_ENVIRONMENT are the
// names the .NET services read.
var environmentVariables = []string{"DATAFLOW_ENVIRONMENT", "DOTNET_ENVIRONMENT", "ASPNETCORE_ENVIRONMENT"}

// connectionStringPrefixes are the Azure App Service variable prefixes that
// .NET maps to ConnectionStrings:{name}.
var connectionStringPrefixes = []string{"SQLCONNSTR_", "SQLAZURECONNSTR_", "POSTGRESQLCONNSTR_", "CUSTOMCONNSTR_"}

// Load builds the effective settings from these sources, each overriding
// the ones before it:
//
//  1. the built-in defaults (see Defaults);
//  2. {ConfigDir}/appsettings.json, if present;
//  3. {ConfigDir}/appsettings.{Environment}.json, if present, where the file
//     name is matched case-insensitively;
//  4. environment variables with a DOTNET_ prefix, then with an ASPNETCORE_
//     prefix (prefix removed, so ASPNETCORE_URLS sets Urls);
//  5. APPLY_MIGRATIONS_ON_STARTUP and the connection-string variables
//     SQLCONNSTR_{name}, SQLAZURECONNSTR_{name}, POSTGRESQLCONNSTR_{name} and
//     CUSTOMCONNSTR_{name}, which set ConnectionStrings:{name};
//  6. environment variables in the .NET form Section__Key, for example
//     ImportBatch__ChunkSize or ClientSeed__Clients__0__Secret;
//  7. LoadOptions.Overrides.
//
// Keys are case-insensitive. JSON arrays become index keys, so a later
// source can replace one field of an element or add an element. Keys and
// environment variables that match no setting are ignored, except in
// Overrides. An empty value for a number, boolean or duration counts as not
// set. The Environment field always holds the environment name that selected
// the file: Overrides["Environment"], else DATAFLOW_ENVIRONMENT,
// DOTNET_ENVIRONMENT, ASPNETCORE_ENVIRONMENT, else Production.
//
// Load reports every value that cannot be converted at once, each with its
// .NET key, its source and the expected type. It does not validate ranges;
// call Settings.Validate for that.
func Load(opts LoadOptions) (*Settings, error) {
	environ := opts.Environ
	if environ == nil {
		environ = os.Environ()
	}

	overrides, overrideSources, err := overrideValues(opts.Overrides)
	if err != nil {
		return nil, err
	}
	environment := resolveEnvironment(environ, opts.Overrides)

	dir, err := resolveConfigDir(opts.ConfigDir, environ)
	if err != nil {
		return nil, err
	}

	m := newMerger()
	defaults := make(map[string]any)
	flattenSettings(settingsSchema, reflect.ValueOf(*Defaults()), "", defaults)
	if err := m.load(defaults, sameSource(defaults, sourceDefault)); err != nil {
		return nil, err
	}
	for _, name := range []string{"appsettings.json", "appsettings." + environment + ".json"} {
		if err := m.loadFile(dir, name); err != nil {
			return nil, err
		}
	}
	if err := m.loadEnvironment(environ); err != nil {
		return nil, err
	}
	if err := m.load(overrides, overrideSources); err != nil {
		return nil, err
	}

	s, err := m.settings()
	if err != nil {
		return nil, err
	}
	s.Environment = environment
	if provider, ok := CanonicalProvider(s.Database.Provider); ok {
		s.Database.Provider = provider
	}
	return s, nil
}

// lookupEnv returns the trimmed value of an environment variable. Names match
// case-insensitively, like every other key, and the last entry wins.
func lookupEnv(environ []string, name string) string {
	value := ""
	for _, entry := range environ {
		k, v, ok := strings.Cut(entry, "=")
		if ok && strings.EqualFold(k, name) {
			value = strings.TrimSpace(v)
		}
	}
	return value
}

func resolveEnvironment(environ []string, overrides map[string]string) string {
	for k, v := range overrides {
		if strings.EqualFold(strings.TrimSpace(k), "environment") && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
	}
	for _, name := range environmentVariables {
		if v := lookupEnv(environ, name); v != "" {
			return v
		}
	}
	return defaultEnvironment
}

func resolveConfigDir(dir string, environ []string) (string, error) {
	origin := "config directory"
	if dir == "" {
		if dir = lookupEnv(environ, envConfigDir); dir != "" {
			origin = "config directory from " + envConfigDir
		}
	}

	if dir == "" {
		// Without an explicit folder, ./config is used only when it looks like
		// a config folder, so a stray empty ./config does not hide ./appsettings.json.
		if path, err := findFile("config", "appsettings.json"); err == nil && path != "" {
			return "config", nil
		}
		return ".", nil
	}

	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("reading %s %q: directory does not exist; create it or name the folder that contains appsettings.json", origin, dir)
	case err != nil:
		return "", fmt.Errorf("reading %s %q: %w", origin, dir, err)
	case !info.IsDir():
		return "", fmt.Errorf("reading %s %q: not a directory; name the folder that contains appsettings.json", origin, dir)
	}
	return dir, nil
}

// findFile returns the path of the entry of dir whose name equals name
// ignoring case, preferring an exact match, or "" when there is none. The
// .NET services ran on Windows too, where appsettings.development.json and
// appsettings.Development.json are the same file.
func findFile(dir, name string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("reading config directory %q: %w", dir, err)
	}

	var folded []string
	for _, entry := range entries {
		switch {
		case entry.Name() == name:
			return filepath.Join(dir, name), nil
		case strings.EqualFold(entry.Name(), name):
			folded = append(folded, entry.Name())
		}
	}

	switch len(folded) {
	case 0:
		return "", nil
	case 1:
		return filepath.Join(dir, folded[0]), nil
	default:
		return "", fmt.Errorf("finding %s in %q: several files match ignoring case (%s); keep only one", name, dir, strings.Join(folded, ", "))
	}
}

// overrideValues lower-cases and checks the --set keys. It returns the values
// to merge and the source description of each key.
func overrideValues(in map[string]string) (map[string]any, map[string]string, error) {
	values := make(map[string]any)
	sources := make(map[string]string)
	var errs []error

	for _, k := range slices.Sorted(maps.Keys(in)) {
		key := strings.ToLower(strings.TrimSpace(k))
		field, _ := lookupKey(key)
		if field == nil {
			errs = append(errs, fmt.Errorf("applying --set %s: unknown setting; use a key of the effective configuration with ':' between levels, such as ImportBatch:ChunkSize", k))
			continue
		}
		if previous, ok := sources[key]; ok {
			errs = append(errs, fmt.Errorf("applying --set %s: the same setting is already given as %s; keep one of them", k, previous))
			continue
		}

		sources[key] = "--set " + k
		if settable(field, in[k]) {
			values[key] = in[k]
		}
	}

	return values, sources, errors.Join(errs...)
}

// settable reports whether a raw value should take part in the merge. Null
// JSON values and empty strings for non-string settings are skipped, so that
// a compose file line like `ImportBatch__ChunkSize=${CHUNK_SIZE}` with
// CHUNK_SIZE unset keeps the value of the lower source.
func settable(field *schemaField, value any) bool {
	if field == nil || value == nil {
		return false
	}
	if s, ok := value.(string); ok && field.kind != kindString && strings.TrimSpace(s) == "" {
		return false
	}
	return true
}

// merger layers the sources in one koanf instance and remembers where the
// effective value of each key came from, for error messages.
type merger struct {
	k       *koanf.Koanf
	sources map[string]string
}

func newMerger() *merger {
	return &merger{k: koanf.New(keyDelim), sources: make(map[string]string)}
}

// load merges flat, lower-cased, known keys over the current values.
// sources describes where each key's value comes from.
func (m *merger) load(values map[string]any, sources map[string]string) error {
	if len(values) == 0 {
		return nil
	}
	if err := m.k.Load(confmap.Provider(values, keyDelim), nil); err != nil {
		return fmt.Errorf("merging settings: %w", err)
	}
	for key := range values {
		m.sources[key] = sources[key]
	}
	return nil
}

func sameSource(values map[string]any, source string) map[string]string {
	sources := make(map[string]string, len(values))
	for key := range values {
		sources[key] = source
	}
	return sources
}

func (m *merger) loadFile(dir, name string) error {
	path, err := findFile(dir, name)
	if err != nil || path == "" {
		return err
	}

	data, err := file.Provider(path).ReadBytes()
	if err != nil {
		return fmt.Errorf("reading settings file %s: %w", path, err)
	}
	values, err := parseSettingsFile(path, data)
	if err != nil {
		return err
	}

	return m.load(values, sameSource(values, "file "+path))
}

// parseSettingsFile turns an appsettings JSON document into flat, lower-cased
// keys of known settings, the way the .NET JSON provider flattens it.
func parseSettingsFile(path string, data []byte) (map[string]any, error) {
	cleaned, err := cleanJSON(data)
	if err != nil {
		return nil, fmt.Errorf("parsing settings file %s: %w; close the comment", path, err)
	}
	if len(bytes.TrimSpace(cleaned)) == 0 {
		return nil, nil
	}

	tree, err := json.Parser().Unmarshal(cleaned)
	if err != nil {
		var syntaxErr *stdjson.SyntaxError
		var typeErr *stdjson.UnmarshalTypeError
		switch {
		case errors.As(err, &syntaxErr):
			line, column := lineAndColumn(cleaned, syntaxErr.Offset)
			return nil, fmt.Errorf("parsing settings file %s at line %d, column %d: %w; fix the JSON syntax", path, line, column, err)
		case errors.As(err, &typeErr):
			return nil, fmt.Errorf("parsing settings file %s: the top level is a JSON %s; it must be an object such as {\"Urls\": \"http://0.0.0.0:5000\"}", path, typeErr.Value)
		default:
			return nil, fmt.Errorf("parsing settings file %s: %w", path, err)
		}
	}

	flat := make(map[string]any)
	if err := flattenJSON("", tree, flat); err != nil {
		return nil, fmt.Errorf("parsing settings file %s: %w", path, err)
	}

	values := make(map[string]any)
	for key, value := range flat {
		if field, _ := lookupKey(key); settable(field, value) {
			values[key] = value
		}
	}
	return values, nil
}

// flattenJSON lower-cases keys and turns arrays into index keys, so
// {"ClientSeed": {"Clients": [{"Name": "a"}]}} becomes clientseed:clients:0:name.
func flattenJSON(prefix string, value any, out map[string]any) error {
	switch v := value.(type) {
	case map[string]any:
		for k, child := range v {
			if err := flattenJSON(joinKey(prefix, strings.ToLower(k)), child, out); err != nil {
				return err
			}
		}
	case []any:
		for i, child := range v {
			if err := flattenJSON(joinKey(prefix, strconv.Itoa(i)), child, out); err != nil {
				return err
			}
		}
	default:
		if _, ok := out[prefix]; ok {
			return fmt.Errorf("duplicate key %s (keys are case-insensitive); remove one of them", dotnetKey(prefix))
		}
		out[prefix] = v
	}
	return nil
}

func joinKey(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + keyDelim + key
}

// envLayer orders the environment variable sources from lowest to highest
// priority.
type envLayer int

const (
	envDotnet envLayer = iota
	envAspNetCore
	envAlias
	envDirect
)

// envKey returns the layer and the lower-cased key that an environment
// variable sets. Prefixes match case-insensitively, like every other key.
func envKey(name string) (envLayer, string) {
	upper := strings.ToUpper(name)
	if upper == "APPLY_MIGRATIONS_ON_STARTUP" {
		return envAlias, "applymigrationsonstartup"
	}
	for _, prefix := range connectionStringPrefixes {
		if strings.HasPrefix(upper, prefix) {
			return envAlias, "connectionstrings" + keyDelim + strings.ToLower(name[len(prefix):])
		}
	}

	layer, rest := envDirect, name
	switch {
	case strings.HasPrefix(upper, "DOTNET_"):
		layer, rest = envDotnet, name[len("DOTNET_"):]
	case strings.HasPrefix(upper, "ASPNETCORE_"):
		layer, rest = envAspNetCore, name[len("ASPNETCORE_"):]
	}
	return layer, strings.ToLower(strings.ReplaceAll(rest, "__", keyDelim))
}

func (m *merger) loadEnvironment(environ []string) error {
	for _, layer := range []envLayer{envDotnet, envAspNetCore, envAlias, envDirect} {
		provider := env.Provider(keyDelim, env.Opt{
			EnvironFunc: func() []string { return environ },
			TransformFunc: func(name, value string) (string, any) {
				l, key := envKey(name)
				if l != layer {
					return "", nil
				}
				if field, _ := lookupKey(key); !settable(field, value) {
					return "", nil
				}
				m.sources[key] = "environment variable " + name
				return key, value
			},
		})
		if err := m.k.Load(provider, nil); err != nil {
			return fmt.Errorf("reading environment variables: %w", err)
		}
	}
	return nil
}

// settings converts the merged values to their Go types and unmarshals them.
func (m *merger) settings() (*Settings, error) {
	flat := m.k.All()
	typed := make(map[string]any)
	var errs []error

	for _, key := range slices.Sorted(maps.Keys(flat)) {
		field, name := lookupKey(key)
		if field == nil {
			continue
		}
		value, err := convertValue(field, flat[key])
		if err != nil {
			errs = append(errs, conversionError(name, field, flat[key], m.sources[key], err))
			continue
		}
		setPath(typed, strings.Split(key, keyDelim), value)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	tree, _ := restoreSlices(settingsSchema, typed).(map[string]any)
	k := koanf.New(keyDelim)
	if err := k.Load(confmap.Provider(tree, ""), nil); err != nil {
		return nil, fmt.Errorf("loading converted settings: %w", err)
	}

	var s Settings
	if err := k.UnmarshalWithConf("", &s, koanf.UnmarshalConf{Tag: "koanf"}); err != nil {
		return nil, fmt.Errorf("unmarshalling settings: %w", err)
	}
	return &s, nil
}

func conversionError(name string, field *schemaField, raw any, source string, err error) error {
	expected := expectedType(field.kind)
	if errors.Is(err, strconv.ErrRange) {
		expected += " within the range of " + field.typ.String()
	}
	return fmt.Errorf("reading %s from %s: invalid value %q: expected %s", name, source, displayValue(field, fmt.Sprint(raw)), expected)
}

// displayValue masks secret values for messages and dumps.
func displayValue(field *schemaField, value string) string {
	switch {
	case field.secret == "dsn":
		return MaskConnectionString(value)
	case field.secret != "" && value != "":
		return maskedValue
	default:
		return value
	}
}

func setPath(root map[string]any, parts []string, value any) {
	cur := root
	for _, part := range parts[:len(parts)-1] {
		next, ok := cur[part].(map[string]any)
		if !ok {
			next = make(map[string]any)
			cur[part] = next
		}
		cur = next
	}
	cur[parts[len(parts)-1]] = value
}

// restoreSlices turns the index-keyed maps of slice settings back into
// slices. Elements are ordered like the keys of .NET's ConfigurationKeyComparer:
// numeric indexes by value first, then other keys alphabetically. Gaps close
// up, so indexes 0 and 5 give a slice of two elements.
func restoreSlices(field *schemaField, value any) any {
	m, ok := value.(map[string]any)
	if !ok {
		return value
	}

	switch field.kind {
	case kindStruct:
		for tag, child := range field.children {
			if v, ok := m[tag]; ok {
				m[tag] = restoreSlices(child, v)
			}
		}
		return m
	case kindSlice:
		indexes := slices.SortedFunc(maps.Keys(m), compareIndexes)
		out := make([]any, 0, len(indexes))
		for _, index := range indexes {
			out = append(out, restoreSlices(field.elem, m[index]))
		}
		return out
	default:
		return value
	}
}

func compareIndexes(a, b string) int {
	na, errA := strconv.ParseInt(a, 10, 64)
	nb, errB := strconv.ParseInt(b, 10, 64)
	switch {
	case errA == nil && errB == nil && na != nb:
		if na < nb {
			return -1
		}
		return 1
	case errA == nil && errB != nil:
		return -1
	case errA != nil && errB == nil:
		return 1
	default:
		return strings.Compare(a, b)
	}
}

// flattenSettings writes the leaves of a Settings value as lower-cased keys.
func flattenSettings(field *schemaField, v reflect.Value, prefix string, out map[string]any) {
	switch field.kind {
	case kindStruct:
		for tag, child := range field.children {
			flattenSettings(child, v.FieldByName(child.goName), joinKey(prefix, tag), out)
		}
	case kindSlice:
		for i := range v.Len() {
			flattenSettings(field.elem, v.Index(i), joinKey(prefix, strconv.Itoa(i)), out)
		}
	default:
		out[prefix] = v.Interface()
	}
}
