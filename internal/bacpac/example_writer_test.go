package bacpac_test

import (
	"bytes"
	"fmt"
	"log"

	"github.com/bacport/bacport/internal/bacpac"
)

func ExampleNewWriter() {
	model := &bacpac.Model{Tables: []*bacpac.Table{{
		Schema: "dbo", Name: "Invoice",
		Columns: []*bacpac.Column{
			{Name: "InvoiceId", Type: bacpac.Type{Name: "int"}, Identity: &bacpac.Identity{Seed: 1, Increment: 1}},
			{Name: "Number", Type: bacpac.Type{Name: "nvarchar", Length: 50}},
			{Name: "Amount", Type: bacpac.Type{Name: "decimal", Precision: 19, Scale: 4}, Nullable: true},
		},
		PrimaryKey: &bacpac.Key{Name: "PK_Invoice", Columns: []bacpac.IndexColumn{{Name: "InvoiceId"}}, Clustered: true},
	}}}

	var out bytes.Buffer // any io.Writer: a file, a blob upload stream, …
	w, err := bacpac.NewWriter(&out, model, bacpac.WriterOptions{
		Source: bacpac.ServerInfo{Server: "db.example.com", Database: "shop", Engine: "PostgreSQL 16.4"},
	})
	if err != nil {
		log.Fatal(err)
	}
	tw, err := w.Table(model.Tables[0]) // one per table; tables may run concurrently
	if err != nil {
		log.Fatal(err)
	}
	amount, _ := bacpac.ParseDecimal("1234.56")
	for _, row := range [][]any{
		{int64(7), "INV-0001", amount},
		{int64(8), "INV-0002", nil},
	} {
		if err := tw.WriteRow(row); err != nil {
			w.Abort()
			log.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		log.Fatal(err)
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}

	pkg, err := bacpac.Open(bytes.NewReader(out.Bytes()), int64(out.Len()))
	if err != nil {
		log.Fatal(err)
	}
	rows := pkg.Rows(pkg.Model().Table("dbo", "Invoice"))
	defer rows.Close()
	for rows.Next() {
		fmt.Println(rows.Values()...)
	}
	// Output:
	// 7 INV-0001 1234.5600
	// 8 INV-0002 <nil>
}
