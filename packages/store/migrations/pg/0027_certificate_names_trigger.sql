-- Issue #12 (PostgreSQL CPU per certificate): certificate_names loses its foreign key to certificates. Its check ran
-- inside the batch statement as a separate query per search name (≈ 4 per certificate, each a FOR KEY SHARE lock on
-- the new certificate row). The names are written only with their certificate (same statement or unit of work), and
-- the row trigger below removes them with it — what ON DELETE CASCADE did (certificate delete, SPIFFE purge, a CA's
-- deletion cascading to its certificates), so no name outlives its certificate. (SQLite's 0027 does the same.)
ALTER TABLE "certificate_names" DROP CONSTRAINT "certificate_names_certificate_id_certificates_id_fk";--> statement-breakpoint
CREATE FUNCTION "pkim_certificates_delete_names"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "certificate_names" WHERE "certificate_id" = OLD."id";
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER "certificates_delete_names" AFTER DELETE ON "certificates"
  FOR EACH ROW EXECUTE FUNCTION "pkim_certificates_delete_names"();
