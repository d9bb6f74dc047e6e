// go-verify: crypto/x509 chain verification (independent of OpenSSL/GnuTLS).
// Usage: go-verify -leaf leaf.pem [-chain intermediates.pem] -root root.pem [-purpose serverAuth|clientAuth|any] [-host name] [-time RFC3339]
// Built and run by tests/support/verifiers.ts (goVerify). Stdlib only, builds offline.
package main

import (
	"crypto/x509"
	"encoding/pem"
	"flag"
	"fmt"
	"os"
	"time"
)

func load(path string) []*x509.Certificate {
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		fmt.Println("FAIL go-x509: read", path, err)
		os.Exit(2)
	}
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			fmt.Println("FAIL go-x509: parse", path, err)
			os.Exit(2)
		}
		out = append(out, c)
	}
	if len(out) == 0 { // maybe DER
		if c, err := x509.ParseCertificate(b); err == nil {
			out = append(out, c)
		}
	}
	return out
}

func main() {
	leafP := flag.String("leaf", "", "leaf PEM")
	chainP := flag.String("chain", "", "intermediates PEM")
	rootP := flag.String("root", "", "root(s) PEM")
	purpose := flag.String("purpose", "serverAuth", "serverAuth|clientAuth|any")
	host := flag.String("host", "", "DNS name to check")
	at := flag.String("time", "", "verification time RFC3339 (default now)")
	flag.Parse()
	leaves := load(*leafP)
	if len(leaves) == 0 {
		fmt.Println("FAIL go-x509: no leaf certificate")
		os.Exit(2)
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	for _, c := range load(*rootP) {
		roots.AddCert(c)
	}
	for _, c := range load(*chainP) {
		inter.AddCert(c)
	}
	opts := x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: *host}
	switch *purpose {
	case "serverAuth":
		opts.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	case "clientAuth":
		opts.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	case "any":
		opts.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageAny}
	default:
		fmt.Println("FAIL go-x509: bad purpose", *purpose)
		os.Exit(2)
	}
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			fmt.Println("FAIL go-x509: bad time", err)
			os.Exit(2)
		}
		opts.CurrentTime = t
	}
	chains, err := leaves[0].Verify(opts)
	if err != nil {
		fmt.Printf("FAIL go-x509: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("PASS go-x509: %d chain(s), depth %d\n", len(chains), len(chains[0]))
}
