package imports

import (
	"net/http"

	"github.com/dataflow/dataflow/platform/httpserver"
)

// API errors of the imports endpoints, each with a stable code.
var (
	errNotMultipart = httpserver.NewError(http.StatusBadRequest, "not_multipart",
		"Send the file as multipart/form-data with the file in the field \"file\".",
		"Envie o arquivo como multipart/form-data, com o arquivo no campo \"file\".")
	errMissingFileField = httpserver.NewError(http.StatusBadRequest, "missing_file",
		"The form has no field \"file\". Add the file to upload in a field named \"file\".",
		"O formulário não tem o campo \"file\". Inclua o arquivo a enviar em um campo chamado \"file\".")
	errEmptyFile = httpserver.NewError(http.StatusBadRequest, "empty_file",
		"The uploaded file is empty. Upload a file with at least one record.",
		"O arquivo enviado está vazio. Envie um arquivo com pelo menos um registro.")
	errUnsupportedType = httpserver.NewError(http.StatusBadRequest, "unsupported_file_type",
		"This file type is not supported. Upload a JSON file: an array of objects, or a single object.",
		"Este tipo de arquivo não é suportado. Envie um arquivo JSON: um array de objetos ou um único objeto.")
	errInvalidJSONFile = httpserver.NewError(http.StatusBadRequest, "invalid_file",
		"The file is not a JSON array or object. Upload a JSON array of objects, or a single object.",
		"O arquivo não é um array nem um objeto JSON. Envie um array JSON de objetos ou um único objeto.")
	errNotUTF8 = httpserver.NewError(http.StatusBadRequest, "invalid_encoding",
		"The file looks like UTF-16 text. Save it as UTF-8 and upload it again.",
		"O arquivo parece ser texto UTF-16. Salve-o como UTF-8 e envie novamente.")
	errInvalidMetadata = httpserver.NewError(http.StatusBadRequest, "invalid_metadata",
		"The field \"metadata\" is not valid JSON. Send JSON text, usually an object, or leave it out.",
		"O campo \"metadata\" não é um JSON válido. Envie um texto JSON, em geral um objeto, ou omita o campo.")
	errInvalidField = httpserver.NewError(http.StatusBadRequest, "invalid_field",
		"A form field is not valid UTF-8 text or contains a NUL character; see \"field\".",
		"Um campo do formulário não é texto UTF-8 válido ou contém o caractere NUL; veja \"field\".")
	errFieldTooLong = httpserver.NewError(http.StatusBadRequest, "field_too_long",
		"A form field is longer than allowed; see \"field\" and \"maxLength\".",
		"Um campo do formulário é maior que o permitido; veja \"field\" e \"maxLength\".")
	errTooLarge = httpserver.NewError(http.StatusRequestEntityTooLarge, "file_too_large",
		"The file is larger than the limit; see \"maxFileSizeMb\". Split it into smaller files.",
		"O arquivo é maior que o limite; veja \"maxFileSizeMb\". Divida-o em arquivos menores.")
	errBatchNotFound = httpserver.NewError(http.StatusNotFound, "batch_not_found",
		"No batch with this id exists for your client.",
		"Não existe lote com este id para o seu cliente.")
	errUploadInterrupted = httpserver.NewError(http.StatusBadRequest, "upload_interrupted",
		"The upload was interrupted or the multipart body is malformed. Send the file again.",
		"O envio foi interrompido ou o corpo multipart está malformado. Envie o arquivo novamente.")
)
