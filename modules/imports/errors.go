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
		"This file type is not supported. Upload CSV or TSV, JSON (an array of objects or one object), NDJSON, or an XLSX workbook.",
		"Este tipo de arquivo não é suportado. Envie CSV ou TSV, JSON (um array de objetos ou um objeto), NDJSON ou uma planilha XLSX.")
	errOldExcel = httpserver.NewError(http.StatusBadRequest, "unsupported_file_type",
		"The file is in the old Excel format (.xls) or is a password-protected workbook, neither of which can be read. Save it as .xlsx without a password, or as CSV, and upload it again.",
		"O arquivo está no formato antigo do Excel (.xls) ou é uma planilha protegida por senha, e nenhum dos dois pode ser lido. Salve-o como .xlsx sem senha, ou como CSV, e envie novamente.")
	errNotWorkbook = httpserver.NewError(http.StatusBadRequest, "invalid_file",
		"The file is named .xlsx but is not an XLSX workbook. Save it from the spreadsheet program as .xlsx, or upload it as CSV.",
		"O arquivo tem extensão .xlsx, mas não é uma planilha XLSX. Salve-o no programa de planilhas como .xlsx ou envie-o como CSV.")
	errInvalidJSONFile = httpserver.NewError(http.StatusBadRequest, "invalid_file",
		"The file is named as JSON but is not a JSON array or object. Upload a JSON array of objects, a single object, or NDJSON.",
		"O arquivo tem nome de JSON, mas não é um array nem um objeto JSON. Envie um array JSON de objetos, um único objeto ou NDJSON.")
	errNotUTF8 = httpserver.NewError(http.StatusBadRequest, "invalid_encoding",
		"The file looks like UTF-16 text without a byte order mark. Save it as UTF-8, or send the field \"encoding\" with utf-16le or utf-16be.",
		"O arquivo parece ser texto UTF-16 sem marca de ordem de bytes (BOM). Salve-o como UTF-8 ou envie o campo \"encoding\" com utf-16le ou utf-16be.")
	errUnknownEncoding = httpserver.NewError(http.StatusBadRequest, "invalid_encoding",
		"The field \"encoding\" names an unknown encoding; see \"encoding\". Use a standard name such as utf-8, windows-1252, iso-8859-1 or utf-16le.",
		"O campo \"encoding\" indica uma codificação desconhecida; veja \"encoding\". Use um nome padrão como utf-8, windows-1252, iso-8859-1 ou utf-16le.")
	errInvalidDelimiter = httpserver.NewError(http.StatusBadRequest, "invalid_delimiter",
		"The field \"delimiter\" must be one of , ; | or tab; see \"delimiter\". Leave it out to detect the delimiter.",
		"O campo \"delimiter\" deve ser um destes: , ; | ou tab; veja \"delimiter\". Omita-o para detectar o delimitador.")
	errInvalidFieldName = httpserver.NewError(http.StatusBadRequest, "invalid_field_name",
		"A name in \"field\" cannot match any record field; see \"name\". Use one field name of at most 200 characters, with dots only between the parts of a nested name, such as leadContextJson.budget.",
		"Um nome em \"field\" não corresponde a nenhum campo possível; veja \"name\". Use um único nome de campo de até 200 caracteres, com pontos apenas entre as partes de um nome aninhado, como leadContextJson.budget.")
	errInvalidReportDelimiter = httpserver.NewError(http.StatusBadRequest, "invalid_delimiter",
		"The query parameter \"delimiter\" must be comma, semicolon, tab or pipe (or , ; |); see \"delimiter\". Leave it out for commas.",
		"O parâmetro \"delimiter\" deve ser comma, semicolon, tab ou pipe (ou , ; |); veja \"delimiter\". Omita-o para usar vírgulas.")
	errTooManyRequiredFields = httpserver.NewError(http.StatusBadRequest, "too_many_required_fields",
		"The field \"requiredFields\" lists more fields than allowed; see \"maxFields\".",
		"O campo \"requiredFields\" lista mais campos que o permitido; veja \"maxFields\".")
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
	errInvalidItemStatus = httpserver.NewError(http.StatusBadRequest, "invalid_status",
		"The query parameter \"status\" must be Pending, Imported, Error or Skipped, or several of them separated by commas; see \"status\".",
		"O parâmetro \"status\" deve ser Pending, Imported, Error ou Skipped, ou vários deles separados por vírgula; veja \"status\".")
	errInvalidLimit = httpserver.NewError(http.StatusBadRequest, "invalid_limit",
		"The query parameter \"limit\" must be a whole number from 1 to the value of \"maxLimit\"; see \"limit\".",
		"O parâmetro \"limit\" deve ser um número inteiro de 1 até o valor de \"maxLimit\"; veja \"limit\".")
	errInvalidCursor = httpserver.NewError(http.StatusBadRequest, "invalid_cursor",
		"The query parameter \"cursor\" is not one this API returned. Pass the \"nextCursor\" of the previous page unchanged, or leave it out to start from the first item.",
		"O parâmetro \"cursor\" não foi gerado por esta API. Envie o \"nextCursor\" da página anterior sem alterações ou omita-o para começar do primeiro item.")
	errInvalidBatchStatus = httpserver.NewError(http.StatusBadRequest, "invalid_status",
		"The query parameter \"status\" must be Pending, Scheduled, Processing, Completed, CompletedWithErrors, Failed or Cancelled, or several of them separated by commas; see \"status\".",
		"O parâmetro \"status\" deve ser Pending, Scheduled, Processing, Completed, CompletedWithErrors, Failed ou Cancelled, ou vários deles separados por vírgula; veja \"status\".")
	errInvalidTime = httpserver.NewError(http.StatusBadRequest, "invalid_time",
		"A time parameter is not an RFC 3339 timestamp; see \"parameter\" and \"value\". Send a time such as 2026-12-04T00:00:00Z or 2026-12-04T00:00:00-03:00.",
		"Um parâmetro de data e hora não está no formato RFC 3339; veja \"parameter\" e \"value\". Envie um horário como 2026-12-04T00:00:00Z ou 2026-12-04T00:00:00-03:00.")
	errNotCancellable = httpserver.NewError(http.StatusConflict, "batch_not_cancellable",
		"The batch has already finished and cannot be cancelled; see \"status\".",
		"O lote já terminou e não pode ser cancelado; veja \"status\".")
	errDuplicateUpload = httpserver.NewError(http.StatusConflict, "duplicate_upload",
		"This client already uploaded a file with the same content; see \"batchId\" and \"status\". Follow that batch, or send the form field allowDuplicate=true to import the file again.",
		"Este cliente já enviou um arquivo com o mesmo conteúdo; veja \"batchId\" e \"status\". Acompanhe esse lote ou envie o campo allowDuplicate=true para importar o arquivo de novo.")
	errNotFinished = httpserver.NewError(http.StatusConflict, "batch_not_finished",
		"The batch has not finished yet, so its failed records are not known; see \"status\". Retry once it has finished.",
		"O lote ainda não terminou, então os registros com falha ainda não são conhecidos; veja \"status\". Tente de novo quando ele terminar.")
	errNothingToRetryAPI = httpserver.NewError(http.StatusConflict, "nothing_to_retry",
		"No record of the batch ended Error with a payload that can be sent again. Skipped records are duplicates and are not retried.",
		"Nenhum registro do lote terminou com Error e com um conteúdo que possa ser reenviado. Registros Skipped são duplicados e não são reenviados.")
	errPayloadRedacted = httpserver.NewError(http.StatusConflict, "payload_redacted",
		"The failed records' payloads were redacted, so they cannot be sent again. Upload the corrected file instead.",
		"O conteúdo dos registros com falha foi mascarado e não pode ser reenviado. Envie o arquivo corrigido.")
	errInvalidFlag = httpserver.NewError(http.StatusBadRequest, "invalid_field",
		"A true/false form field has another value; see \"field\". Send true or false.",
		"Um campo verdadeiro/falso do formulário tem outro valor; veja \"field\". Envie true ou false.")
	errInvalidValidate = httpserver.NewError(http.StatusBadRequest, "invalid_validate",
		"The query parameter \"validate\" accepts only the value only, for a dry run; see \"validate\". Leave it out to import the file.",
		"O parâmetro \"validate\" aceita apenas o valor only, para uma simulação; veja \"validate\". Omita-o para importar o arquivo.")
	errUploadInterrupted = httpserver.NewError(http.StatusBadRequest, "upload_interrupted",
		"The upload was interrupted or the multipart body is malformed. Send the file again.",
		"O envio foi interrompido ou o corpo multipart está malformado. Envie o arquivo novamente.")
)
