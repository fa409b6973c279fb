// Command template-oracle computes the expected outputs of Go text/template +
// sprig templates for ksensor's test data (tests/data/templates.jsonl).
//
// It is run by hand, not by `make check`:
//
//	go build -o ~/.cache/ksensor/template-oracle .
//	TZ=UTC ~/.cache/ksensor/template-oracle < cases.in.jsonl > ../../tests/data/templates.jsonl
//
// Each stdin line is a JSON object {"kind": "data"|"filter", "template": ...,
// "input": ...} (other members are kept). It is echoed with "output" added, or
// "error": "parse" / "exec". Evaluation follows Argo Events: kind "data" as in
// pkg/sensors/triggers/params.go getValueWithTemplate (Input = gjson value of
// the input JSON), kind "filter" as in pkg/sensors/dependencies/filter.go
// (Input = the input JSON string as a Go string). The output is the raw
// buffer; Argo's "empty or <no value> fails" rule is not applied here.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"text/template"
	"unicode/utf8"

	sprig "github.com/Masterminds/sprig/v3"
	"github.com/tidwall/gjson"
)

type member struct {
	key string
	val json.RawMessage
}

// readObject decodes one JSON object keeping its members in order.
func readObject(line []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("not a JSON object")
	}
	var ms []member
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		ms = append(ms, member{t.(string), v})
	}
	return ms, nil
}

// run evaluates one case; it returns the member to append.
func run(kind, tmpl string, input json.RawMessage) (string, string, error) {
	var data interface{}
	switch kind {
	case "data":
		data = gjson.ParseBytes(input).Value()
	case "filter":
		var s string
		if err := json.Unmarshal(input, &s); err != nil {
			return "", "", fmt.Errorf("filter input must be a JSON string")
		}
		data = s
	default:
		return "", "", fmt.Errorf("unknown kind %q", kind)
	}
	tpl, err := template.New("param").Funcs(sprig.FuncMap()).Parse(tmpl)
	if err != nil {
		return "error", "parse", nil
	}
	var buf bytes.Buffer
	if err := tpl.Execute(&buf, map[string]interface{}{"Input": data}); err != nil {
		return "error", "exec", nil
	}
	if !utf8.Valid(buf.Bytes()) {
		return "", "", fmt.Errorf("output is not valid UTF-8: %q", buf.String())
	}
	return "output", buf.String(), nil
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := func(v interface{}) []byte {
		var b bytes.Buffer
		e := json.NewEncoder(&b)
		e.SetEscapeHTML(false)
		e.Encode(v)
		return bytes.TrimRight(b.Bytes(), "\n")
	}
	for n := 1; in.Scan(); n++ {
		ms, err := readObject(in.Bytes())
		if err != nil {
			fmt.Fprintf(os.Stderr, "line %d: %v\n", n, err)
			os.Exit(1)
		}
		var kind, tmpl string
		var input json.RawMessage = []byte("null")
		for _, m := range ms {
			switch m.key {
			case "kind":
				json.Unmarshal(m.val, &kind)
			case "template":
				json.Unmarshal(m.val, &tmpl)
			case "input":
				input = m.val
			}
		}
		key, val, err := run(kind, tmpl, input)
		if err != nil {
			fmt.Fprintf(os.Stderr, "line %d: %v\n", n, err)
			os.Exit(1)
		}
		out.WriteString("{")
		for i, m := range ms {
			var c bytes.Buffer
			json.Compact(&c, m.val)
			if i > 0 {
				out.WriteString(", ")
			}
			fmt.Fprintf(out, "%s: %s", enc(m.key), c.Bytes())
		}
		fmt.Fprintf(out, ", %s: %s}\n", enc(key), enc(val))
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
