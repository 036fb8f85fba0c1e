// Command tlogcheck verifies a log published by `ledger tiles` with Go's own implementation,
// golang.org/x/mod/sumdb/note and golang.org/x/mod/sumdb/tlog (Debian's golang-golang-x-mod-dev),
// reading the tiles from a folder or over HTTP.
//
//	tlogcheck [-old CHECKPOINT_FILE] BASE VKEY
//
// It opens the checkpoint with note.Open and the verifier key; reads every tile through
// tlog.TileHashReader (which authenticates the tiles it loads against the checkpoint's root,
// mapping Go's tile/8/L/N paths to the C2SP tile/L/N ones); checks tlog.TreeHash against the
// root; hashes every entry of tile/entries with tlog.RecordHash and compares it with its level-0
// hash; proves and checks every entry's inclusion with tlog.ProveRecord and tlog.CheckRecord;
// and, with -old, proves and checks consistency with an older signed checkpoint (tlog.ProveTree,
// tlog.CheckTree). It prints "ok SIZE" or the first failure, and exits 0 or 1.
package main

import (
	"encoding/base64"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const height = 8

type source struct {
	base   string
	client *http.Client
	cache  map[string][]byte
}

func (s *source) get(path string) ([]byte, error) {
	if data, ok := s.cache[path]; ok {
		return data, nil
	}
	var data []byte
	var err error
	if strings.HasPrefix(s.base, "http://") || strings.HasPrefix(s.base, "https://") {
		var resp *http.Response
		resp, err = s.client.Get(strings.TrimSuffix(s.base, "/") + "/" + path)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		data, err = io.ReadAll(resp.Body)
	} else {
		data, err = os.ReadFile(filepath.Join(s.base, filepath.FromSlash(path)))
	}
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(path, "tile/") {
		s.cache[path] = data // tiles are immutable; the checkpoint is not cached
	}
	return data, nil
}

// c2spPath maps a tile of x/mod (tile/8/L/N, tile/8/data/N) to the C2SP layout.
func c2spPath(t tlog.Tile) string {
	p := strings.Replace(t.Path(), "tile/8/", "tile/", 1)
	return strings.Replace(p, "tile/data/", "tile/entries/", 1)
}

type tileReader struct{ src *source }

func (r tileReader) Height() int { return height }

func (r tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		data, err := r.src.get(c2spPath(t))
		if err != nil {
			return nil, err
		}
		out[i] = data
	}
	return out, nil
}

func (r tileReader) SaveTiles([]tlog.Tile, [][]byte) {}

// openCheckpoint verifies a signed checkpoint with Go's note package and returns its tree.
func openCheckpoint(msg []byte, verifiers note.Verifiers) (string, tlog.Tree, error) {
	n, err := note.Open(msg, verifiers)
	if err != nil {
		return "", tlog.Tree{}, fmt.Errorf("checkpoint signature: %v", err)
	}
	lines := strings.SplitN(n.Text, "\n", 4)
	if len(lines) < 4 {
		return "", tlog.Tree{}, fmt.Errorf("checkpoint body has fewer than three lines")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 {
		return "", tlog.Tree{}, fmt.Errorf("checkpoint size %q", lines[1])
	}
	raw, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(raw) != tlog.HashSize {
		return "", tlog.Tree{}, fmt.Errorf("checkpoint root %q", lines[2])
	}
	var root tlog.Hash
	copy(root[:], raw)
	return lines[0], tlog.Tree{N: size, Hash: root}, nil
}

// entries returns the entries of entry bundle n (a full or the final partial one).
func entries(src *source, n, size int64) ([][]byte, error) {
	width := size - n*(1<<height)
	if width > 1<<height {
		width = 1 << height
	}
	t := tlog.Tile{H: height, L: -1, N: n, W: int(width)}
	data, err := src.get(c2spPath(t))
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for len(data) > 0 {
		if len(data) < 2 {
			return nil, fmt.Errorf("entry bundle %d: truncated length", n)
		}
		length := int(binary.BigEndian.Uint16(data))
		if len(data) < 2+length {
			return nil, fmt.Errorf("entry bundle %d: truncated entry", n)
		}
		out = append(out, data[2:2+length])
		data = data[2+length:]
	}
	if int64(len(out)) != width {
		return nil, fmt.Errorf("entry bundle %d holds %d entries, want %d", n, len(out), width)
	}
	return out, nil
}

func run(base, vkey, old string) (int64, error) {
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return 0, fmt.Errorf("verifier key: %v", err)
	}
	verifiers := note.VerifierList(verifier)
	src := &source{base: base, client: &http.Client{Timeout: 20 * time.Second}, cache: map[string][]byte{}}
	msg, err := src.get("checkpoint")
	if err != nil {
		return 0, err
	}
	origin, tree, err := openCheckpoint(msg, verifiers)
	if err != nil {
		return 0, err
	}
	if origin != verifier.Name() {
		return 0, fmt.Errorf("checkpoint origin %q is not the key's name %q", origin, verifier.Name())
	}
	reader := tlog.TileHashReader(tree, tileReader{src})
	root, err := tlog.TreeHash(tree.N, reader)
	if err != nil {
		return 0, fmt.Errorf("tree hash: %v", err)
	}
	if root != tree.Hash {
		return 0, fmt.Errorf("tree hash %v is not the checkpoint's %v", root, tree.Hash)
	}
	for n := int64(0); n*(1<<height) < tree.N; n++ {
		bundle, err := entries(src, n, tree.N)
		if err != nil {
			return 0, err
		}
		for j, entry := range bundle {
			index := n*(1<<height) + int64(j)
			stored, err := reader.ReadHashes([]int64{tlog.StoredHashIndex(0, index)})
			if err != nil {
				return 0, fmt.Errorf("entry %d: %v", index, err)
			}
			leaf := tlog.RecordHash(entry)
			if leaf != stored[0] {
				return 0, fmt.Errorf("entry %d does not hash to its level-0 tile hash", index)
			}
			proof, err := tlog.ProveRecord(tree.N, index, reader)
			if err != nil {
				return 0, fmt.Errorf("entry %d: proof: %v", index, err)
			}
			if err := tlog.CheckRecord(proof, tree.N, tree.Hash, index, leaf); err != nil {
				return 0, fmt.Errorf("entry %d: inclusion: %v", index, err)
			}
		}
	}
	if old != "" {
		msg, err := os.ReadFile(old)
		if err != nil {
			return 0, err
		}
		_, older, err := openCheckpoint(msg, verifiers)
		if err != nil {
			return 0, fmt.Errorf("old %v", err)
		}
		if older.N > tree.N {
			return 0, fmt.Errorf("the old checkpoint (size %d) is larger than the new (%d)", older.N, tree.N)
		}
		proof, err := tlog.ProveTree(tree.N, older.N, reader)
		if err != nil {
			return 0, fmt.Errorf("consistency proof: %v", err)
		}
		if err := tlog.CheckTree(proof, tree.N, tree.Hash, older.N, older.Hash); err != nil {
			return 0, fmt.Errorf("consistency with the old checkpoint: %v", err)
		}
	}
	return tree.N, nil
}

func main() {
	old := flag.String("old", "", "an older signed checkpoint to check consistency with")
	flag.Parse()
	if flag.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: tlogcheck [-old CHECKPOINT] BASE VKEY")
		os.Exit(2)
	}
	size, err := run(flag.Arg(0), flag.Arg(1), *old)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tlogcheck:", err)
		os.Exit(1)
	}
	fmt.Printf("ok %d\n", size)
}
