package keys_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/f7d52a8e/multiserver/keys"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// ssbKeysFile is a key file as the ssb-keys module writes it, comments
// included (seed 0x01 repeated).
const ssbKeysFile = `# secret key: keep it to yourself
{
  "curve": "ed25519",
  "public": "iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w=.ed25519",
  "private": "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQGKiOPddAnxlf1S2y08ul1yymcJvx2UEhvzdIgBtA9vXA==.ed25519",
  "id": "@iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w=.ed25519"
}
# your public name: @iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w=.ed25519
`

func TestReadSSBKeys(t *testing.T) {
	priv, err := keys.Unmarshal([]byte(ssbKeysFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(priv.Seed(), bytes.Repeat([]byte{1}, 32)) {
		t.Fatalf("seed = %x", priv.Seed())
	}
	// Writing it again gives the same JSON fields.
	var a, b map[string]string
	json.Unmarshal(keys.Marshal(priv), &a)
	json.Unmarshal([]byte(ssbKeysFile[strings.IndexByte(ssbKeysFile, '{'):strings.LastIndexByte(ssbKeysFile, '}')+1]), &b)
	for k, v := range b {
		if a[k] != v {
			t.Errorf("Marshal %s = %q, want %q", k, a[k], v)
		}
	}
}

func TestSaveLoad(t *testing.T) {
	priv := keys.Generate()
	path := filepath.Join(t.TempDir(), "secret")
	if err := keys.Save(path, priv); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	got, err := keys.Load(path)
	if err != nil || !got.Equal(priv) {
		t.Fatalf("Load = %v, want the saved key", err)
	}
	if err := keys.Save(path, priv); err == nil {
		t.Error("Save overwrote an existing file")
	}
}

func TestBadFiles(t *testing.T) {
	good := string(keys.Marshal(keys.Generate()))
	swapped := func(field string) string {
		var m map[string]string
		json.Unmarshal([]byte(good), &m)
		var o map[string]string
		json.Unmarshal(keys.Marshal(keys.Generate()), &o)
		m[field] = o[field]
		b, _ := json.Marshal(m)
		return string(b)
	}
	for name, data := range map[string]string{
		"not json":           "hello",
		"wrong curve":        strings.Replace(good, `"ed25519"`, `"k256"`, 1),
		"no suffix":          strings.Replace(good, `==.ed25519"`, `=="`, 1),
		"short private":      `{"curve":"ed25519","private":"AAAA.ed25519"}`,
		"another public":     swapped("public"),
		"another id":         swapped("id"),
		"private not base64": `{"curve":"ed25519","private":"%%%.ed25519"}`,
	} {
		if _, err := keys.Unmarshal([]byte(data)); err == nil || !strings.HasPrefix(err.Error(), "keys: ") {
			t.Errorf("%s: Unmarshal = %v, want a keys: error", name, err)
		}
	}
}

func FuzzUnmarshal(f *testing.F) {
	f.Add([]byte(ssbKeysFile))
	f.Add(keys.Marshal(keys.Generate()))
	f.Add([]byte(`{"curve":"ed25519"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		priv, err := keys.Unmarshal(data)
		if err != nil {
			return
		}
		again, err := keys.Unmarshal(keys.Marshal(priv))
		if err != nil || !again.Equal(priv) {
			t.Fatalf("Marshal of an accepted key does not read back: %v", err)
		}
	})
}
